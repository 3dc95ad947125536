# PostgreSQL 15 with the mockarty extension installed (same install script and Makefile
# as `make run`). The entrypoint creates database "mockarty" with the extension.
#   docker build -f docker/postgres.Dockerfile -t mockarty/postgres .
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/install-deps.sh && make -s extension && make -s -C extension install DESTDIR=/staging

FROM debian:12
COPY scripts/install-deps.sh /opt/mockarty/scripts/install-deps.sh
RUN /opt/mockarty/scripts/install-deps.sh postgres && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data
COPY --from=build /staging/ /
COPY docker/pg-entrypoint.sh /usr/local/bin/pg-entrypoint.sh
EXPOSE 5432
USER postgres
HEALTHCHECK --interval=2s --timeout=2s CMD pg_isready -h 127.0.0.1 -U postgres || exit 1
ENTRYPOINT ["/usr/local/bin/pg-entrypoint.sh"]
