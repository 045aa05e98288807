# bench/config-server/nginx.sh — the physical-limit row of run.sh (sourced): nginx (Debian's
# package) serving the very bytes our config-server answered, as static files, from the same
# pinned core and through the same wrk settings, so the table can say how close config-server
# comes to a plain static file server. Installs nginx-light with apt when it is missing and we
# are root; otherwise the row is skipped with a note.

# nginx_bench BASE_OURS TMPDIR → fills R[nginx.env.*], R[nginx.yml.*] (empty when skipped)
nginx_bench() {
    local ours=$1 dir=$2/nginx port=${NGINX_PORT:-27420}
    if ! command -v nginx >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null 2>&1 ||
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null 2>&1 || true
            systemctl stop nginx >/dev/null 2>&1 || true # the package may start its own; we run ours
        fi
        command -v nginx >/dev/null || { echo "nginx row skipped: nginx is not installed" >&2; return 0; }
    fi
    mkdir -p "$dir/root/$APP" "$dir/logs"
    chmod 755 "$2" "$dir" "$dir/root" "$dir/root/$APP" # nginx's worker runs as nobody
    # the exact bytes ours answers for both URLs
    curl -fsS -o "$dir/root/$APP/$PROFILE" "$ours/$APP/$PROFILE"
    curl -fsS -o "$dir/root/$APP-$PROFILE.yml" "$ours/$APP-$PROFILE.yml"
    chmod 644 "$dir/root/$APP/$PROFILE" "$dir/root/$APP-$PROFILE.yml"
    cat >"$dir/nginx.conf" <<CONF
daemon off;
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    open_file_cache max=16 inactive=60s;
    default_type application/json;
    server {
        listen 127.0.0.1:$port;
        root $dir/root;
        location ~ \.yml$ { default_type text/plain; }
    }
}
CONF
    "${SRV_PIN[@]}" nginx -c "$dir/nginx.conf" -p "$dir" &
    local pid=$!
    PIDS+=("$pid")
    wait_first "http://127.0.0.1:$port/$APP/$PROFILE" "$pid" >/dev/null ||
        { echo "nginx did not start: $(tail -3 "$dir/logs/error.log" 2>/dev/null)" >&2; return 0; }
    cmp -s "$dir/root/$APP/$PROFILE" <(curl -fsS "http://127.0.0.1:$port/$APP/$PROFILE") ||
        { echo "nginx does not serve the same bytes" >&2; return 1; }
    bench nginx "http://127.0.0.1:$port" "$pid"
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
