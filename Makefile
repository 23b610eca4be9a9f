# Everything a fresh machine needs is installed here; CI runs `make test` via .ci/run.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared

.PHONY: install deb-tools bytecode helptexts demo test lint bench conformance screenshot clean

HELPTEXTS := podnet/cli/helptexts.py
PY_SOURCES := $(shell find podnet -name '*.py' ! -name helptexts.py)

# The Debian tools are looked for on every install (a few `command -v`), not only when
# pyproject.toml changes, so a tool added to DEB_TOOLS reaches machines whose .venv is built.
install: deb-tools $(STAMP) $(HELPTEXTS) bytecode

# Every help screen, rendered by typer into podnet/cli/helptexts.py (generated, not committed):
# `podnet --help` prints from it without importing typer (podnet/cli/fasthelp.py), and typer
# answers whenever the sources no longer match it. Remade when any module changes.
$(HELPTEXTS): $(STAMP) $(PY_SOURCES)
	$(BIN)/python -m podnet.cli.helpgen

helptexts: $(STAMP)
	$(BIN)/python -m podnet.cli.helpgen

# Debian packages the lab needs: nft (policy and kube-proxy rules), iproute2 (ip netns), BIRD (bgp),
# ipset and ipvsadm (the IPVS renderer's output is loaded into a scratch namespace), nginx (the
# ingress controller); and what `podnet disk` is checked against: fio (the seeds' etcd disk
# job) and a real etcd (--etcd); wrk, the load generator of the lab's HTTP benchmark; chromium,
# the browser tests/test_report_browser.py drives headless (playwright uses it; it downloads none).
DEB_TOOLS := nft:nftables iptables-restore:iptables ip:iproute2 bird:bird2 birdc:bird2 ipset:ipset ipvsadm:ipvsadm \
             nginx:nginx fio:fio etcd:etcd-server wrk:wrk chromium:chromium

deb-tools:
	@for pair in $(DEB_TOOLS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    else echo "make install: run as root to install$$missing (needed by the lab and the disk tests)"; fi; fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# podnet's own bytecode, written here since an editable install compiles none and a shell with
# PYTHONDONTWRITEBYTECODE=1 never caches it: every command then compiled each module it imports
# (0.1 s of a repeated `explain`). compileall rewrites only what changed since.
bytecode: $(STAMP) $(HELPTEXTS)
	@$(BIN)/python -m compileall -q podnet

demo: install
	$(BIN)/podnet analyze -f examples/oslo
	$(BIN)/podnet reach -f examples/oslo --ports 8080/TCP,80/TCP,5432/TCP
	$(BIN)/podnet explain -f examples/oslo --from production/frontend-0 --to production/backend-0 --port 8080/TCP
	$(BIN)/podnet http -f examples/oslo http://api.coolvds-demo.no/
	$(BIN)/podnet http -f examples/oslo https://api.coolvds-demo.no/
	$(BIN)/podnet http -f examples/oslo -f examples/oslo-fixes https://api.coolvds-demo.no/
	$(BIN)/podnet doctor -f examples/oslo || test $$? -eq 1  # exit 1: the seeds' legacy Ingress and unadmitted controller are errors
	$(BIN)/podnet ingress migrate -f examples/oslo --verify >/dev/null || test $$? -eq 1  # exit 1: what core Gateway API cannot express
	@mkdir -p build
	$(BIN)/podnet report -f examples/oslo --doctor -o build/oslo.html  # open it in a browser: it loads nothing
	@if [ "$$(id -u)" = 0 ]; then \
	  $(BIN)/podnet lab down --name podnet-demo >/dev/null; \
	  $(BIN)/podnet lab up -f examples/oslo --name podnet-demo --cni host-gw && \
	  $(BIN)/podnet lab probe --name podnet-demo --ports 8080/TCP,80/TCP,53/UDP; rc=$$?; \
	  $(BIN)/podnet lab down --name podnet-demo; exit $$rc; \
	else echo "(not root: skipping the lab part of the demo)"; fi

test: install lint
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check podnet tests $(wildcard bench)
	$(BIN)/mypy podnet

conformance: install
	$(BIN)/python -m podnet.conformance $(SHARED)/conformance/netpol-analyzer
	$(BIN)/python tests/upstream_summary.py | grep '^|'  # kube-proxy, MetalLB, resolvers

bench: install
	@if [ -f bench/run.py ]; then $(BIN)/python bench/run.py; fi
	$(BIN)/python bench/cache.py
	$(BIN)/python bench/services.py
	$(BIN)/python bench/connlist.py
	$(BIN)/python bench/connlist_scale.py
	$(BIN)/python bench/doctor.py
	$(BIN)/python bench/ingress.py
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/trace.py
	$(BIN)/python bench/watch.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/startup.py
	@if command -v fio >/dev/null; then $(BIN)/python bench/disk.py; else echo "(no fio: disk benchmark skipped)"; fi
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python bench/dns_qps.py; fi
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python bench/lab.py && $(BIN)/python bench/lab_net.py && $(BIN)/python bench/ingress_lab.py; else echo "(not root: lab benchmarks skipped)"; fi
	$(BIN)/python bench/plots.py  # build/bench/*.json -> docs/bench-*.png

# The README's picture of the report (docs/report.png): examples/oslo in headless Chromium.
screenshot: install
	$(BIN)/python bench/screenshot.py

clean:
	rm -rf $(VENV) build *.egg-info
