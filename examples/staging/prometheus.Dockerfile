# Prometheus (this machine's Debian binary) scraping the service every 0.5 s, on 127.0.0.1:9790.
FROM launchlib-staging/base:bookworm
COPY prometheus /usr/local/bin/prometheus
COPY prometheus.yml /etc/prometheus/prometheus.yml
CMD ["/usr/local/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml", \
     "--storage.tsdb.path=/tmp/prometheus", "--web.listen-address=127.0.0.1:9790"]
