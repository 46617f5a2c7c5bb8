# Start a throwaway PostgreSQL server for the tests and export ARLIB_TEST_PG_URL.
#
#   source .ci/postgres.sh      # then: make test   (tests marked `postgres` use the server)
#   arlib_pg_stop               # optional: stop the server and remove its folder
#
# Installs Debian's `postgresql` package when no server binaries are found (apt-get; needs root
# or sudo), then runs initdb + pg_ctl as the `postgres` user (a server refuses to run as root)
# into a temporary folder: listening on 127.0.0.1 only, on ARLIB_PG_PORT (default 55432, or the
# next free port), password (scram-sha-256) authentication over TCP. It creates the role and
# database `arlib_test` with a random password, exported only inside ARLIB_TEST_PG_URL; what
# it prints has the password masked. Sourced by .ci/run, so it returns (never exits) on error.

_arlib_pg_fail() {
    echo "postgres.sh: $*" >&2
    return 1
}

_arlib_pg_start() {
    local bindir sudo="" dir port pw version
    local -a run=()
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        [ "$(id -u)" = 0 ] || sudo="sudo"
        echo "postgres.sh: installing Debian's postgresql package" >&2
        $sudo apt-get update -qq || _arlib_pg_fail "apt-get update failed" || return 1
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null \
            || _arlib_pg_fail "apt-get install postgresql failed" || return 1
        bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
        [ -x "$bindir/initdb" ] || _arlib_pg_fail "no initdb after installing postgresql" || return 1
    fi
    dir=$(mktemp -d /tmp/arlib-pg.XXXXXX) || return 1
    if [ "$(id -u)" = 0 ]; then
        run=(runuser -u postgres --)
        chown postgres: "$dir"
    fi
    port=${ARLIB_PG_PORT:-55432}
    while "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; [ $? -ne 2 ]; do  # 2 = nothing listens
        port=$((port + 1))
    done
    pw=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    "${run[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || _arlib_pg_fail "initdb failed (see $dir/initdb.log)" || return 1
    "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null \
        || _arlib_pg_fail "the server did not start (see $dir/server.log)" || return 1
    # the password goes in on stdin, never on a command line
    "${run[@]}" "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<SQL \
        || _arlib_pg_fail "could not create the test role and database" || return 1
CREATE ROLE arlib_test LOGIN PASSWORD '$pw';
CREATE DATABASE arlib_test OWNER arlib_test;
SQL
    export ARLIB_TEST_PG_URL="postgresql://arlib_test:${pw}@127.0.0.1:${port}/arlib_test"
    export ARLIB_TEST_PG_DIR="$dir" ARLIB_TEST_PG_BIN="$bindir"
    version=$("$bindir/postgres" --version | awk '{print $3}')
    echo "postgres.sh: PostgreSQL $version on 127.0.0.1:$port;" \
        "ARLIB_TEST_PG_URL=postgresql://arlib_test:***@127.0.0.1:${port}/arlib_test" >&2
}

arlib_pg_stop() {
    [ -n "${ARLIB_TEST_PG_DIR:-}" ] || return 0
    local -a run=()
    [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
    "${run[@]}" "$ARLIB_TEST_PG_BIN/pg_ctl" -D "$ARLIB_TEST_PG_DIR/data" -m fast -w stop >/dev/null 2>&1
    rm -rf "$ARLIB_TEST_PG_DIR"
    unset ARLIB_TEST_PG_URL ARLIB_TEST_PG_DIR ARLIB_TEST_PG_BIN
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "postgres.sh: source this file (source .ci/postgres.sh) so that ARLIB_TEST_PG_URL reaches the tests" >&2
    exit 2
fi
if [ -z "${ARLIB_TEST_PG_URL:-}" ]; then
    _arlib_pg_start || return 1
fi
