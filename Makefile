# Makefile - the whole platform: the core library, the PostgreSQL extension (PGXS, in
# extension/), the daemons, and the two commands of the README (`make run`, `make test`).

.PHONY: all core extension daemons install run stop test bench fuzz format format-check clean deps

all: core extension daemons

deps:
	scripts/install-deps.sh

core:
	$(MAKE) -C core

extension: core
	$(MAKE) -C extension

daemons: core
	$(MAKE) -C daemons
	$(MAKE) -C daemons/grpc
	$(MAKE) -C daemons/resolver
	$(MAKE) -C daemons/genserver
	$(MAKE) -C daemons/generator
	$(MAKE) -C daemons/loadgen
	$(MAKE) -C daemons/tester
	$(MAKE) -C daemons/runner
	$(MAKE) -C daemons/tools

# Installs mockarty.so, the control file and the SQL scripts into PostgreSQL (root).
install: extension
	$(MAKE) -C extension install

# The embedded default: deps, build, install, local cluster in .local/, admin node on 5770.
run:
	scripts/run.sh

stop:
	scripts/stop.sh

# Every test: core unit tests, pg_regress + isolation, pg_dump round trip, end to end.
test:
	scripts/test-all.sh

# Every benchmark, each against its reference measured in the same run (docs in each script's
# header): the admin node and the resolver against nginx like for like (THREADS=1 vs 1 worker,
# 2 vs 2; 1 and 100,000 mocks; propagation p99), the mock.resolved webhook's cost and highest
# lossless event rate, the load generator against wrk (HTTP and gRPC against h2load), the
# generated server against the resolver (>= 0.9x), the gRPC generated server against grpc-js and
# the resolver's HTTP/1.1 req/s (>= 0.8x), the OpenAPI import of the GitHub description
# (< 10 s, bounded memory), mock traffic on the admin node with 3 console tabs in use against
# without (>= 0.95x). All of them run, each bounded by
# BENCH_TIMEOUT (seconds); the summary lists each with PASS/FAIL and the target fails when any
# did. QUICK=1: short rounds, a smoke check of the scripts (performance targets not enforced).
BENCH_SCRIPTS = bench.sh resolver-bench.sh webhook-bench.sh loadgen-bench.sh genserver-bench.sh \
                loadgen-grpc-bench.sh grpc-serve-bench.sh openapi-import-bench.sh console-bench.sh
QUICK ?= 0
BENCH_TIMEOUT ?= $(if $(filter 1,$(QUICK)),600,1800)
bench:
	scripts/install-deps.sh bench
	$(MAKE) -s all >/dev/null
	$(MAKE) -s install >/dev/null
	@status=0; summary=""; \
	for s in $(BENCH_SCRIPTS); do \
	  echo "== bench/$$s (QUICK=$(QUICK), at most $(BENCH_TIMEOUT) s)"; \
	  if QUICK=$(QUICK) SKIP_BUILD=1 timeout -k 30 $(BENCH_TIMEOUT) bench/$$s; then r=PASS; \
	  else rc=$$?; status=1; r="FAIL (exit $$rc$$( [ $$rc = 124 ] && echo ', timed out'))"; fi; \
	  summary="$$summary$$(printf '  %-20s %s' "$$s" "$$r")\n"; \
	done; \
	printf '\n== make bench (QUICK=%s)\n%b' "$(QUICK)" "$$summary"; \
	[ $$status = 0 ] && echo "all benchmarks passed" || echo "some benchmarks FAILED"; \
	exit $$status

fuzz:
	scripts/install-deps.sh fuzz
	$(MAKE) -C core fuzz
	$(MAKE) -C daemons/loadgen fuzz
	$(MAKE) -C daemons/tester fuzz

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	$(MAKE) -C core clean
	-$(MAKE) -C extension clean
	-$(MAKE) -C daemons clean
	-$(MAKE) -C daemons/grpc clean
	-$(MAKE) -C daemons/resolver clean
	-$(MAKE) -C daemons/genserver clean
	-$(MAKE) -C daemons/generator clean
	-$(MAKE) -C daemons/loadgen clean
	-$(MAKE) -C daemons/tester clean
	-$(MAKE) -C daemons/runner clean
