# One image for every service role: api (`docextract serve`), worker (`docextract worker`) and
# the one-off migration (`docextract db upgrade`). CPU only; the OCR models ship inside the
# rapidocr wheel, so nothing is downloaded at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libgomp1: OpenMP runtime used by onnxruntime; libglib2.0-0: needed by OpenCV's wheels.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# constraints.txt pins the transitive dependencies when the project has one.
COPY pyproject.toml README.md constraints.tx[t] ./
COPY docextract ./docextract
COPY api ./api
COPY worker ./worker
COPY models ./models
RUN if [ -f constraints.txt ]; then pip install -c constraints.txt .; else pip install .; fi

RUN useradd --system --uid 10001 --home-dir /data docextract \
    && mkdir -p /data/storage && chown -R docextract /data
USER docextract

ENV DOCEXTRACT_STORAGE_DIR=/data/storage
VOLUME ["/data"]
EXPOSE 8000
CMD ["docextract", "serve", "--host", "0.0.0.0", "--port", "8000"]
