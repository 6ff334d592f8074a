// Package deploycheck keeps the deployment artefacts honest without a container engine or a
// cluster: deploy_test.go renders deploy/k8s with kustomize, decodes every object strictly with
// client-go's scheme and cross-checks them (selectors, ports, secret and config references,
// pinned images, probes, network policies, and the datasurface containers' flags and
// environment against the flags `datasurface serve -h` prints); it loads deploy/swarm/stack.yml
// with compose-go with schema validation on and applies the same checks; and it checks
// deploy/docker/Dockerfile and .dockerignore against the go.work workspace.
package deploycheck
