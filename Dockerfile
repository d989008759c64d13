# The API server. Stores are chosen with CHIRP_*_URL; without them it runs on the embedded
# default, with its SQLite file and media under /data (mount a volume there).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CHIRP_DATA_DIR=/data \
    CHIRP_USERS_URL=sqlite:////data/chirp.db CHIRP_TWEETS_URL=sqlite:////data/chirp.db \
    CHIRP_SEARCH_URL=sqlite:////data/chirp.db CHIRP_MEDIA_URL=file:////data/media

WORKDIR /srv/chirp
COPY pyproject.toml README.md ./
COPY app ./app
COPY schema ./schema
COPY resolvers ./resolvers
COPY loaders ./loaders
COPY storage ./storage
RUN pip install --no-cache-dir -e . && useradd --system --create-home chirp \
    && mkdir -p /data && chown chirp /data

USER chirp
VOLUME /data
EXPOSE 8000
CMD ["sh", "-c", "chirp migrate && exec chirp serve --host 0.0.0.0 --port 8000"]
