# koreapage-bot: a small runtime image. Build: docker build -t koreapage-bot .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 koreapage \
 && mkdir -p /data /app/config && chown koreapage /data
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY config /app/config
WORKDIR /app
USER koreapage
ENV KOREAPAGE_CONFIG=/app/config/koreapage.toml \
    KOREAPAGE_DATABASE_URL=sqlite+aiosqlite:////data/koreapage.db \
    KOREAPAGE_HTTP_HOST=0.0.0.0 \
    KOREAPAGE_HTTP_PORT=8080 \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8080
# /healthz answers 503 when the database is unreachable (or Slack's socket is down); it also
# says whether this process leads and which Discord shards it runs. No curl in the slim image.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('KOREAPAGE_HTTP_PORT', '8080') + '/healthz', timeout=8)"]
# SIGTERM (docker stop) shuts the bot down cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["koreapage-bot"]
CMD ["run"]
