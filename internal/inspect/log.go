package inspect

import (
	"io"
	"log/slog"
)

// quietLogger drops the log's recovery messages; Verify reports problems itself.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
