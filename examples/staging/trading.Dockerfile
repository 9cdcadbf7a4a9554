# The simulated trading service, one image per release (build-arg RELEASE): the project's wheel
# and the simulator's own dependencies (wheels fetched by stack.py), without the notebook stack.
FROM launchlib-staging/base:bookworm
COPY wheel/ /tmp/wheel/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install -q --no-index --find-links /tmp/wheel /tmp/wheel/launchlib-*.whl --no-deps \
    && /opt/venv/bin/pip install -q --no-index --find-links /tmp/wheel \
       click httpx sniffio prometheus-client promql-parser pydantic pyyaml starlette uvicorn httptools \
    && rm -rf /tmp/wheel
ARG RELEASE
ENV LAUNCHLIB_SIM_RELEASE=$RELEASE PATH=/opt/venv/bin:$PATH PORT=8780
HEALTHCHECK --interval=1s --timeout=2s --retries=5 \
    CMD python3 -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/version' % os.environ['PORT'], timeout=2)"
CMD ["sh", "-c", "exec launchlib sim serve --host 127.0.0.1 --port $PORT --restart-s 0"]
