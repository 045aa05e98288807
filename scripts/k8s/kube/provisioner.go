// provisioner.go — `kube local-provisioner`: the test cluster's storage, a small dynamic
// provisioner for one node. A PersistentVolumeClaim of a StorageClass whose provisioner is
// ours gets a `local` PersistentVolume on a fresh directory under --dir, pre-bound to the
// claim; a Released volume of ours with reclaim policy Delete has its directory removed and is
// deleted. `local` volumes (unlike hostPath) get the pod's fsGroup applied by the kubelet, so
// non-root pods can write them. It polls the API every --interval; it is not meant for more
// than a single-node test cluster (scripts/k8s.sh runs it next to kube-proxy).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const provisionedBy = "pv.kubernetes.io/provisioned-by"

type localProvisioner struct {
	client kubernetes.Interface
	name   string // the StorageClass provisioner this serves
	dir    string // volumes are directories below this
	node   string // the node's name (nodeAffinity of every volume)
}

func runLocalProvisioner(args []string) int {
	fs := flag.NewFlagSet("local-provisioner", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster (required)")
	p := localProvisioner{}
	fs.StringVar(&p.name, "provisioner", "cqrs-ordering.local/hostdir", "provisioner name to serve")
	fs.StringVar(&p.dir, "dir", "/var/lib/cqrs-k8s/volumes", "directory that holds the volumes")
	fs.StringVar(&p.node, "node", "", "node name for the volumes' nodeAffinity (required)")
	interval := fs.Duration("interval", 2*time.Second, "how often to look for claims and released volumes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *kubeconfig == "" || p.node == "" {
		fmt.Fprintln(os.Stderr, "local-provisioner: --kubeconfig and --node are required")
		return 2
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Printf("local-provisioner: %v", err)
		return 1
	}
	if p.client, err = kubernetes.NewForConfig(cfg); err != nil {
		log.Printf("local-provisioner: %v", err)
		return 1
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		log.Printf("local-provisioner: %v", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log.Printf("local-provisioner: serving %s on node %s, volumes in %s", p.name, p.node, p.dir)
	for {
		if err := p.pass(ctx); err != nil && ctx.Err() == nil {
			log.Printf("local-provisioner: %v", err)
		}
		select {
		case <-ctx.Done():
			log.Printf("local-provisioner: stopped")
			return 0
		case <-time.After(*interval):
		}
	}
}

// pass provisions every pending claim of our classes and deletes every released volume of ours.
func (p *localProvisioner) pass(ctx context.Context) error {
	classes, err := p.client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	reclaim := map[string]corev1.PersistentVolumeReclaimPolicy{}
	for _, c := range classes.Items {
		if c.Provisioner == p.name {
			reclaim[c.Name] = corev1.PersistentVolumeReclaimDelete
			if c.ReclaimPolicy != nil {
				reclaim[c.Name] = *c.ReclaimPolicy
			}
		}
	}
	claims, err := p.client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range claims.Items {
		c := &claims.Items[i]
		class := ""
		if c.Spec.StorageClassName != nil {
			class = *c.Spec.StorageClassName
		}
		policy, ours := reclaim[class]
		if ours && c.Status.Phase == corev1.ClaimPending && c.Spec.VolumeName == "" && c.DeletionTimestamp == nil {
			if err := p.provision(ctx, c, class, policy); err != nil {
				log.Printf("local-provisioner: %s/%s: %v", c.Namespace, c.Name, err)
			}
		}
	}
	volumes, err := p.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range volumes.Items {
		v := &volumes.Items[i]
		if v.Annotations[provisionedBy] == p.name && v.Status.Phase == corev1.VolumeReleased &&
			v.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
			if err := p.remove(ctx, v); err != nil {
				log.Printf("local-provisioner: %s: %v", v.Name, err)
			}
		}
	}
	return nil
}

func (p *localProvisioner) provision(ctx context.Context, c *corev1.PersistentVolumeClaim, class string,
	policy corev1.PersistentVolumeReclaimPolicy) error {
	name := "pvc-" + string(c.UID)
	path := filepath.Join(p.dir, name)
	if err := os.MkdirAll(path, 0o777); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o777); err != nil { // the pod's fsGroup narrows it at mount
		return err
	}
	size := c.Spec.Resources.Requests[corev1.ResourceStorage]
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{provisionedBy: p.name}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   c.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: policy,
			StorageClassName:              class,
			VolumeMode:                    c.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: c.Namespace, Name: c.Name, UID: c.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{p.node},
				}}}},
			}},
		},
	}
	if len(pv.Spec.AccessModes) == 0 {
		pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	_, err := p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err == nil {
		log.Printf("local-provisioner: %s/%s -> %s (%s, %s)", c.Namespace, c.Name, name, size.String(), path)
	}
	return err
}

func (p *localProvisioner) remove(ctx context.Context, v *corev1.PersistentVolume) error {
	if v.Spec.Local != nil {
		path := filepath.Clean(v.Spec.Local.Path)
		if !strings.HasPrefix(path, filepath.Clean(p.dir)+string(filepath.Separator)) {
			return fmt.Errorf("refusing to remove %s: not below %s", path, p.dir)
		}
		if err := os.RemoveAll(path); err != nil {
			return err
		}
	}
	err := p.client.CoreV1().PersistentVolumes().Delete(ctx, v.Name, metav1.DeleteOptions{})
	if err == nil || apierrors.IsNotFound(err) {
		log.Printf("local-provisioner: released %s deleted", v.Name)
		return nil
	}
	return err
}
