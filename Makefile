# datasurface — `make help` lists the targets. `make test` is the one command CI runs.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export GOTOOLCHAIN := local
export GOFLAGS := -buildvcs=false

BIN := $(CURDIR)/bin

# Tool versions (docs/adr/0001-modules.md; /work/shared/ENVIRONMENT.md lists what resolves).
BUF_VERSION           := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
CONNECT_GO_VERSION    := v1.21.1
GOLANGCI_LINT_VERSION := v2.15.0
TEMPORAL_CLI_VERSION  := v1.5.1
MINIO_VERSION         := v0.0.0-20260212201848-7aac2a2c5b7c

# Every module of go.work as a package pattern: ./model/... ./proto/... ./tools/... …
MODULE_DIRS := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
PKGS        := $(patsubst $(CURDIR)/%,./%/...,$(filter $(CURDIR)/%,$(MODULE_DIRS)))

FUZZTIME ?= 30s
FUZZ     ?= FuzzLoad
FUZZPKG  ?= ./model/load

##@ Everyday

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} \
		/^##@/ {printf "\n%s\n", substr($$0, 5)} \
		/^[a-zA-Z_-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: FUZZTIME=$(FUZZTIME) FUZZ=$(FUZZ) FUZZPKG=$(FUZZPKG)"

.PHONY: run
run: $(BIN)/.temporal-$(TEMPORAL_CLI_VERSION) ## Run everything locally: `datasurface dev` (ARGS="--reset" etc.).
	go run ./cmd/datasurface dev $(ARGS)

.PHONY: test
test: $(BIN)/.temporal-$(TEMPORAL_CLI_VERSION) $(BIN)/.minio-$(MINIO_VERSION) ## Run every test of every module (what CI runs).
	go test -count=1 $(PKGS)

.PHONY: build
build: ## Build bin/datasurface.
	go build -o $(BIN)/datasurface ./cmd/datasurface

##@ Checks

.PHONY: check
check: generate ## Regenerate and diff generated files, vet, lint, gofmt, workspace guard rails.
	@echo '== generated files match their sources'
	@git diff --exit-code -- $(GENERATED) || { echo 'generated files differ from the .proto files: run `make generate` and commit'; exit 1; }
	@test -z "$$(git status --porcelain -- $(GENERATED))" || { git status --porcelain -- $(GENERATED); echo 'uncommitted generated files: run `make generate` and commit'; exit 1; }
	@echo '== go vet'
	go vet $(PKGS)
	@echo '== golangci-lint'
	$(MAKE) lint
	@echo '== gofmt'
	@files="$$(gofmt -l $(patsubst ./%/...,%,$(PKGS)))"; test -z "$$files" || { echo "not gofmt-ed:"; echo "$$files"; exit 1; }
	@echo '== workspace'
	go run ./tools/cmd/workspace check

.PHONY: lint
lint: $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION) ## Run golangci-lint (linters in .golangci.yml).
	$(BIN)/golangci-lint run $(PKGS)

# Generated and checked in; `make check` fails when regenerating changes them.
GENERATED := proto/gen model/schema/comments.json model/schema/testdata/schema.json

.PHONY: generate
generate: $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) $(BIN)/.protoc-gen-connect-go-$(CONNECT_GO_VERSION) ## Regenerate proto/gen, buf lint, schema comments and golden schema.
	cd proto && $(BIN)/buf generate --clean && $(BIN)/buf lint
	$(BIN)/buf build proto --as-file-descriptor-set --path proto/datasurface/model/v1 -o - \
		| go run ./tools/cmd/protocomments -package datasurface.model.v1 -o model/schema/comments.json
	go test -count=1 ./model/schema -run '^TestGolden$$' -update

.PHONY: workspace
workspace: ## Regenerate go.work and add missing sibling require/replace lines.
	go run ./tools/cmd/workspace sync

##@ Performance

.PHONY: bench
bench: $(BIN)/.temporal-$(TEMPORAL_CLI_VERSION) ## Print each performance figure beside its limit (all suites), then run the Go benchmarks once.
	go run ./cmd/datasurface bench --suite all
	go test -count=1 -run '^$$' -bench . -benchtime 1x -benchmem ./model/... ./platforms/yellow/...

.PHONY: fuzz
fuzz: ## Fuzz the model loader for FUZZTIME (default 30s).
	go test -run '^$$' -fuzz '^$(FUZZ)$$' -fuzztime $(FUZZTIME) $(FUZZPKG)

##@ Deploy

.PHONY: deploy-check
deploy-check: build ## Check deploy/ offline: kustomize build, strict Kubernetes decoding, Compose schema, Dockerfile.
	DEPLOYCHECK_DATASURFACE=$(BIN)/datasurface go test -count=1 ./tools/deploycheck/...

.PHONY: docker-image
docker-image: ## Build the datasurface image (needs a Docker engine; docs/deploy.md).
	docker build -f deploy/docker/Dockerfile -t datasurface:$$(cat VERSION) --build-arg VERSION=$$(cat VERSION) .

##@ Tools

.PHONY: tools
tools: $(BIN)/.temporal-$(TEMPORAL_CLI_VERSION) $(BIN)/.minio-$(MINIO_VERSION) $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) $(BIN)/.protoc-gen-connect-go-$(CONNECT_GO_VERSION) $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION) ## Install buf, protoc plugins and golangci-lint into bin/.

# $(call install-tool,name,package,version,version-regexp): install package@version as bin/name
# unless bin/name already reports that version; the stamp bin/.name-version records it.
define install-tool
	@mkdir -p $(BIN)
	@if [ -x $(BIN)/$(1) ] && $(BIN)/$(1) --version 2>&1 | grep -Eq '$(4)'; then \
		echo "$(1) $(3) already in bin/"; \
	else \
		echo "installing $(2)@$(3) into bin/"; \
		GOBIN=$(BIN) go install $(2)@$(3); \
	fi
	@rm -f $(BIN)/.$(1)-*
	@touch $@
endef

$(BIN)/.buf-$(BUF_VERSION):
	$(call install-tool,buf,github.com/bufbuild/buf/cmd/buf,$(BUF_VERSION),^$(subst .,\.,$(BUF_VERSION:v%=%))$$)

$(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	$(call install-tool,protoc-gen-go,google.golang.org/protobuf/cmd/protoc-gen-go,$(PROTOC_GEN_GO_VERSION),^protoc-gen-go $(subst .,\.,$(PROTOC_GEN_GO_VERSION))$$)

$(BIN)/.protoc-gen-connect-go-$(CONNECT_GO_VERSION):
	$(call install-tool,protoc-gen-connect-go,connectrpc.com/connect/cmd/protoc-gen-connect-go,$(CONNECT_GO_VERSION),^$(subst .,\.,$(CONNECT_GO_VERSION:v%=%))$$)

$(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION):
	$(call install-tool,golangci-lint,github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION),version $(subst .,\.,$(GOLANGCI_LINT_VERSION:v%=%)) )

# The Temporal CLI dev server (docs/adr/0004-temporal-for-dev-and-tests.md); its --version prints
# 0.0.0-DEV when built by go install, so the script checks the build info instead.
$(BIN)/.temporal-$(TEMPORAL_CLI_VERSION):
	tools/install-temporal.sh $(BIN)
	@rm -f $(BIN)/.temporal-*
	@touch $@

# The MinIO server (raw batch archive; tools/install-minio.sh pins its pseudo-version).
$(BIN)/.minio-$(MINIO_VERSION):
	tools/install-minio.sh $(BIN)
	@rm -f $(BIN)/.minio-*
	@touch $@
