// Command etcd is the etcd server at the version Kubernetes requires; the same entry point as etcd's
// own main.go, built here because etcd's root module cannot be installed with `go install`.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
