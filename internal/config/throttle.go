package config

import (
	"strconv"
	"time"
)

// ConnectionThrottle is ZooKeeper's connection throttle (BlueThrottle), set
// by the zookeeper.connection_throttle_* system properties, which zoo.cfg
// sets as connection_throttle_* (ZooKeeper prefixes unknown keys with
// "zookeeper."). The names of ZooKeeper's documentation and JMX bean
// (connectionMaxTokens, connectionTokenFillTime, ...) are accepted too.
type ConnectionThrottle struct {
	Tokens     int           // connection_throttle_tokens: bucket size; 0 disables
	FillTime   time.Duration // connection_throttle_fill_time (ms)
	FillCount  int           // connection_throttle_fill_count: tokens per FillTime
	FreezeTime time.Duration // connection_throttle_freeze_time (ms); -1 disables random drops
	// connection_throttle_drop_increase, _drop_decrease, _decrease_ratio.
	DropIncrease, DropDecrease, DecreaseRatio float64
}

// defaultConnectionThrottle is BlueThrottle's defaults: disabled.
func defaultConnectionThrottle() ConnectionThrottle {
	return ConnectionThrottle{FillTime: time.Millisecond, FillCount: 1, FreezeTime: -time.Millisecond, DropIncrease: 0.02, DropDecrease: 0.002}
}

// throttleKeys maps each key (the system property without "zookeeper.", and
// the documented alias) to its handler.
func throttleHandlers() map[string]handler {
	tokens := func(d *decoder) (err error) { d.c.ConnectionThrottle.Tokens, err = d.intValue(); return }
	fillTime := func(d *decoder) (err error) { d.c.ConnectionThrottle.FillTime, err = d.positiveMillis(); return }
	fillCount := func(d *decoder) (err error) { d.c.ConnectionThrottle.FillCount, err = d.intValue(); return }
	freeze := func(d *decoder) (err error) { d.c.ConnectionThrottle.FreezeTime, err = d.millis(); return }
	inc := func(d *decoder) (err error) { d.c.ConnectionThrottle.DropIncrease, err = d.fraction(); return }
	dec := func(d *decoder) (err error) { d.c.ConnectionThrottle.DropDecrease, err = d.fraction(); return }
	ratio := func(d *decoder) (err error) { d.c.ConnectionThrottle.DecreaseRatio, err = d.fraction(); return }
	return map[string]handler{
		"connection_throttle_tokens": tokens, "connectionMaxTokens": tokens,
		"connection_throttle_fill_time": fillTime, "connectionTokenFillTime": fillTime,
		"connection_throttle_fill_count": fillCount, "connectionTokenFillCount": fillCount,
		"connection_throttle_freeze_time": freeze, "connectionFreezeTime": freeze,
		"connection_throttle_drop_increase": inc, "connectionDropIncrease": inc,
		"connection_throttle_drop_decrease": dec, "connectionDropDecrease": dec,
		"connection_throttle_decrease_ratio": ratio, "connectionDecreaseRatio": ratio,
	}
}

// throttleSysProps are the throttle's system property names without the
// "zookeeper." prefix.
var throttleSysProps = []string{
	"connection_throttle_tokens", "connection_throttle_fill_time", "connection_throttle_fill_count",
	"connection_throttle_freeze_time", "connection_throttle_drop_increase",
	"connection_throttle_drop_decrease", "connection_throttle_decrease_ratio",
}

// positiveMillis is millis for a period that divides (a fill time).
func (d *decoder) positiveMillis() (time.Duration, error) {
	v, err := d.millis()
	if err == nil && v <= 0 {
		err = d.fail(ErrInvalidValue, "%s must be positive", quote(d.value))
	}
	return v, err
}

// fraction parses a probability or ratio (Double.parseDouble), 0 to 1.
func (d *decoder) fraction() (float64, error) {
	f, err := strconv.ParseFloat(d.value, 64)
	if err != nil {
		return 0, d.fail(ErrInvalidValue, "%s is not a number", quote(d.value))
	}
	if f < 0 || f > 1 {
		return 0, d.fail(ErrInvalidValue, "%s is out of range 0-1", quote(d.value))
	}
	return f, nil
}
