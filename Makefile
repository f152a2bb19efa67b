# Switchboard — every target sets up what it needs (virtualenv, generated code) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTO_FILES := $(shell find protos/switchboard -name '*.proto')
PROTO_STAMP := protos/.generated
# Everything pip installs comes from these locks, pinned with hashes (`make lock` re-resolves them).
LOCK := requirements/dev.lock
RUNTIME_LOCK := requirements/runtime.lock
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet
BUF_VERSION := 1.75.0
# `make lint` refuses proto changes that break clients of this branch of the repository
# (`buf breaking`). While a branch renames fields on purpose, lint it against itself:
# BUF_BREAKING_AGAINST=<that branch> make lint.
BUF_BREAKING_AGAINST ?= main
GRPC_TOOLS_PROTO = $(shell $(BIN)/python -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')

.PHONY: setup lock proto run test lint fmt bench migrate clean fuzz

setup: $(STAMP) $(PROTO_STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

## lock: re-resolve requirements/*.lock from pyproject.toml (run after changing a dependency)
lock: $(STAMP)
	$(UV_COMPILE) --extra dev -o $(LOCK)
	$(UV_COMPILE) -o $(RUNTIME_LOCK)
	touch pyproject.toml

## proto: regenerate the Python gRPC code beside the .proto files
proto: $(STAMP)
	find protos/switchboard \( -name '*_pb2*.py' -o -name '*_pb2*.pyi' \) -delete
	$(BIN)/python -m grpc_tools.protoc -Iprotos -I$(GRPC_TOOLS_PROTO) \
		--plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
		--python_out=protos --pyi_out=protos --grpc_python_out=protos --mypy_grpc_out=protos \
		$(PROTO_FILES)
	touch $(PROTO_STAMP)

$(PROTO_STAMP): $(PROTO_FILES) $(STAMP)
	$(MAKE) proto

## run: start config, registry and gateway on the embedded SQLite default
run: setup
	$(BIN)/switchboard serve all

## test: the whole suite, on SQLite and (when reachable, mandatory with CI=true) PostgreSQL
test: setup
	$(BIN)/python -m pytest

## fuzz: the schemathesis (REST) and hypothesis (gRPC) fuzz tests with many more, random examples
fuzz: setup
	SWITCHBOARD_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} SWITCHBOARD_FUZZ_SEED=random \
		$(BIN)/python -m pytest tests/gateway/test_fuzz.py tests/services/test_grpc_fuzz.py -s

migrate: setup
	$(BIN)/switchboard migrate

lint: setup
	$(BIN)/ruff check services gateway tests bench
	$(BIN)/ruff format --check services gateway tests bench
	$(BIN)/mypy
	node_modules/.bin/buf --version 2>/dev/null | grep -qx '$(BUF_VERSION)' \
		|| npm install --no-save --silent @bufbuild/buf@$(BUF_VERSION)
	node_modules/.bin/buf lint
	node_modules/.bin/buf breaking --against '.git#branch=$(BUF_BREAKING_AGAINST)'

fmt: setup
	$(BIN)/ruff check --fix services gateway tests bench
	$(BIN)/ruff format services gateway tests bench

## bench: interleaved h2load benchmark, see README (BENCH_ARGS="--quick", "--postgres URL")
bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(PROTO_STAMP) var node_modules
	find protos/switchboard \( -name '*_pb2*.py' -o -name '*_pb2*.pyi' \) -delete
