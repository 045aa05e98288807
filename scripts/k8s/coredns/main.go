// main.go — a CoreDNS build with only the plugins the test cluster's Corefile uses
// (scripts/k8s/coredns.yaml): errors, log, health, ready, reload, loadbalance, cache and
// kubernetes. No forward: the test cluster answers only its own names and sends no query off
// the machine. CoreDNS's own main imports every plugin (cloud DNS SDKs among them);
// importing the few that are needed keeps the build and the image small. The order in which
// plugins run is CoreDNS's own (dnsserver.Directives).
package main

import (
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	coremain.Run()
}
