module github.com/gozk/gozk

go 1.26.8

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/chzyer/readline v1.5.1
	github.com/cockroachdb/datadriven v1.0.3
	github.com/go-zookeeper/zk v1.0.4
	go.etcd.io/raft/v3 v3.6.0
	golang.org/x/sys v0.0.0-20220310020820-b874c991c1a5
)

require (
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	google.golang.org/protobuf v1.33.0 // indirect
)
