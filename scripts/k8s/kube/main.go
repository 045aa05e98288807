// main.go — one multi-call binary (busybox-style) holding the Kubernetes v1.34.4 programs that
// scripts/k8s.sh runs: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
// kube-proxy and kubectl, plus the cluster's storage provisioner (local-provisioner, see
// provisioner.go). One link instead of six, and the packages they share are in it once.
//
// The program is chosen by the name it was started as (a symlink named kubectl, …) or, when
// that name is not a program, by the first argument:
//
//	kube kubectl get pods        ==  kubectl get pods   (with kubectl -> kube)
//
// Each branch does what that program's own cmd/<name>/main.go in k8s.io/kubernetes does.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	_ "time/tzdata" // CronJob time zones (apiserver, controller-manager)

	"github.com/spf13/cobra"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // kubectl's auth plugins
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var programs = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy":              proxy.NewProxyCommand,
}

func usage() {
	names := []string{"kubectl", "local-provisioner"}
	for n := range programs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: kube PROGRAM [ARGS...]  (or start it through a symlink named PROGRAM)\n"+
		"programs: %s\n", strings.Join(names, ", "))
}

func main() {
	name := filepath.Base(os.Args[0])
	if _, ok := programs[name]; !ok && name != "kubectl" && name != "local-provisioner" {
		if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
			usage()
			os.Exit(2)
		}
		name = os.Args[1]
		os.Args = os.Args[1:] // the program sees itself as argv[0]
	}
	if name == "local-provisioner" {
		os.Exit(runLocalProvisioner(os.Args[1:]))
	}
	if name == "kubectl" {
		logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) // nolint:errcheck
		if err := cli.RunNoErrOutput(kubectlcmd.NewDefaultKubectlCommand()); err != nil {
			kubectlutil.CheckErr(err)
		}
		return
	}
	newCommand, ok := programs[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "kube: unknown program %q\n", name)
		usage()
		os.Exit(2)
	}
	os.Exit(cli.Run(newCommand()))
}
