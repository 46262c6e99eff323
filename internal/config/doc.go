// Package config reads a server's configuration: Apache ZooKeeper's zoo.cfg and the myid file.
//
// # File format
//
// zoo.cfg is a java.util.Properties file: "key=value", "key: value" or
// "key value" lines, '#' and '!' comments, blank lines, backslash escapes
// and continuation lines. Keys and values are trimmed. When a key appears
// twice the last one wins. See readProperties for the exact grammar.
//
// # Keys
//
// The keys of ZooKeeper's QuorumPeerConfig are read with its rules and
// defaults (tickTime defaults to 3000 ms when absent; zoo_sample.cfg sets
// 2000). Settings ZooKeeper takes from Java system properties are accepted
// both bare and with ZooKeeper's "zookeeper." prefix: snapCount,
// preAllocSize (KiB), forceSync, 4lw.commands.whitelist,
// extendedTypesEnabled, znode.container.checkIntervalMs,
// znode.container.maxPerMinute, DigestAuthenticationProvider.superDigest,
// jute.maxbuffer, jute.maxbuffer.extrasize, globalOutstandingLimit,
// admin.enableServer, admin.serverPort, and the connection throttle's
// connection_throttle_* (see ConnectionThrottle).
//
// Keys ZooKeeper knows for features gozk lacks (TLS, SASL, local sessions,
// metrics providers, ...) are checked as ZooKeeper checks them and then
// ignored; they and unknown keys are listed in Config.Warnings. A few
// settings that would change the ensemble's meaning if ignored are refused
// with ErrUnsupported: dynamicConfigFile, group.N/weight.N and several
// addresses per server.
//
// # Ensembles
//
//	server.N=host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]
//
// Server ids run from 1 to 255. With more than one participant (or with
// standaloneEnabled=false) the configuration describes an ensemble; Load then
// needs dataDir/myid, whose id must be listed. A single participant line with
// standaloneEnabled=true (the default) still means standalone, as in
// ZooKeeper.
//
// # Errors
//
// Every problem is an *Error naming the key, the bad value and, when read
// from a file, the line: `config: zoo.cfg:3: tickTime: "abc" is not a
// number`. Match the kind with errors.Is against ErrSyntax, ErrInvalidValue,
// ErrMissing, ErrInvalidServer, ErrMyID and ErrUnsupported.
package config
