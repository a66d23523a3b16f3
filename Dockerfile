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
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8080
# SIGTERM (docker stop) shuts the bot down cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["koreapage-bot"]
CMD ["run"]
