# One image for every service role: api (`docextract serve`), worker (`docextract worker`) and
# the one-off migration (`docextract db upgrade`). CPU only; the OCR models ship inside the
# rapidocr wheel, so nothing is downloaded at run time.
#
# PYTHON_IMAGE: any Debian bookworm image with Python 3.11 as `python` and `python -m venv`
# (the official one by default; deploy/stack-check builds a stand-in from Debian's packages).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build stage: a venv with the pinned dependencies (one layer, kept while only code changes),
# then the project itself.
FROM ${PYTHON_IMAGE} AS build
ARG PIP_VERSION=26.3
ARG SETUPTOOLS_VERSION=84.2.1
# pip reads these: PyPI unless given (deploy/stack-check gives a wheelhouse on the build host).
ARG PIP_INDEX_URL
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml constraints.txt ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install -q "pip==${PIP_VERSION}" "setuptools==${SETUPTOOLS_VERSION}" \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && /opt/venv/bin/pip install -q -c constraints.txt -r requirements.txt
COPY README.md ./
COPY docextract ./docextract
COPY api ./api
COPY worker ./worker
COPY models ./models
# layoutparser's metadata pulls in opencv-python, whose cv2 (GUI build) overwrites the headless
# one and needs libGL and X11 libraries; nothing here draws on a screen, so keep only the
# headless build of the same pinned version (the image would otherwise need Mesa, ~150 MB).
RUN /opt/venv/bin/pip install -q --no-deps --no-build-isolation . \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/pip uninstall -q -y opencv-python opencv-python-headless \
    && /opt/venv/bin/pip install -q --no-deps -c constraints.txt opencv-python-headless

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DOCEXTRACT_STORAGE_DIR=/data/storage

# libgomp1: OpenMP runtime used by onnxruntime; libglib2.0-0: needed by OpenCV's wheels.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /opt/venv /opt/venv
# The native libraries load (cv2, onnxruntime) and the OCR models are in the rapidocr wheel.
RUN python -c "import cv2, onnxruntime, rapidocr, pathlib; \
assert list(pathlib.Path(rapidocr.__file__).parent.rglob('*.onnx')), 'no OCR models in the rapidocr wheel'"
# alembic.ini is not needed: models.migrations configures Alembic from the package.
RUN useradd --system --uid 10001 --home-dir /data docextract \
    && mkdir -p /data/storage && chown -R docextract /data
USER docextract
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# The API's readiness (database answers, storage writable); compose gives the worker its own.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["docextract", "serve", "--host", "0.0.0.0", "--port", "8000"]
