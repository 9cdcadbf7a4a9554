# PostgreSQL 15 with the service's books (positions, ledger), on 127.0.0.1:8732.
FROM launchlib-staging/base:bookworm
COPY books.sql postgres-start.sh /opt/staging/
USER postgres
HEALTHCHECK --interval=1s --timeout=2s --retries=60 \
    CMD psql -h 127.0.0.1 -p 8732 -U launch -d trading -tAc "select 1 from ledger limit 1"
CMD ["sh", "/opt/staging/postgres-start.sh"]
