# PostgreSQL 15 with the mockarty extension installed (same install script and Makefile
# as `make run`). The entrypoint creates database "mockarty" with the extension.
#   docker build -f docker/postgres.Dockerfile -t mockarty-postgres .
FROM debian:12
WORKDIR /src
COPY . .
RUN scripts/install-deps.sh && make -s install && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data
COPY docker/pg-entrypoint.sh /usr/local/bin/pg-entrypoint.sh
EXPOSE 5432
USER postgres
ENTRYPOINT ["/usr/local/bin/pg-entrypoint.sh"]
