//go:build tools

// Package tools pins kube-router for the test cluster (scripts/k8s/build.sh builds its
// command; scripts/k8s.sh runs only its network-policy controller, so the bridge CNI's pods
// get NetworkPolicies enforced).
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
