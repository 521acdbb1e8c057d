#!/usr/bin/env bash
# MinIO server and the mc client, built from source with the Go toolchain as MinIO documents
# ("go install github.com/minio/minio@latest"), pinned to exact module versions.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MC_VERSION="v0.0.0-20250313080218-cf909e1063a9"
go_install minio github.com/minio/minio "$MINIO_VERSION"
go_install mc github.com/minio/mc "$MC_VERSION"
