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

# Admin node vs nginx (1 and 100k mocks), then the resolver: req/s vs nginx, cold start,
# propagation latency. Each prints its ratios against nginx measured in the same run. Then the
# generated server vs the resolver (>= 0.9x its req/s; QUICK=1 for a short run), and the gRPC
# generated server (h2load) vs grpc-js and the resolver's HTTP/1.1 req/s (>= 0.8x).
bench:
	bench/bench.sh
	bench/resolver-bench.sh
	bench/loadgen-bench.sh
	bench/genserver-bench.sh
	bench/loadgen-grpc-bench.sh
	bench/grpc-serve-bench.sh

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
