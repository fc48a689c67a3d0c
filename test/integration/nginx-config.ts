// The nginx configuration the integration test runs, and docs/gateway.md shows: one function, so
// the documented server block is exactly the tested one (nginx.test.ts checks the docs hold it).

export interface NginxSite {
  /** nginx `listen` value */
  listen: string
  /** the BFF, host:port */
  bff: string
  /** the application's API behind the gateway, host:port */
  api: string
}

/**
 * The server block: /auth/ to the BFF, /api/ behind auth_request GET /auth/verify. The BFF runs
 * with VERIFY_COOKIE_COPY_HEADERS=true: nginx forwards only one Set-Cookie of a subrequest.
 */
export function nginxServerBlock ({ listen, bff, api }: NginxSite): string {
  return `server {
    listen ${listen};

    # Session JWTs are large (up to ~4 KB with custom claims) and a refresh answer carries the
    # JWT twice (see below): nginx's default 4k buffer for response headers is too small.
    proxy_buffer_size 16k;
    proxy_buffers 8 16k;

    # The BFF's own routes (login, logout, session, ...): straight through.
    location /auth/ {
        proxy_pass http://${bff};
        proxy_set_header Host $host;
        # TRUST_PROXY on the BFF names this nginx, so it reads the client's IP from here
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        # The token copies are for this nginx only: never to a browser (JavaScript can read them).
        proxy_hide_header X-Set-Cookie-Jwt;
        proxy_hide_header X-Set-Cookie-Session;
        proxy_hide_header X-Set-Cookie-Intermediate-Session;
    }

    # Forward auth: a GET without body, with the browser's cookies.
    location = /_stytch_verify {
        internal;
        proxy_pass http://${bff}/auth/verify;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }

    location /api/ {
        auth_request /_stytch_verify;

        # Identity from the BFF, for the API.
        auth_request_set $stytch_session_id $upstream_http_x_stytch_session_id;
        auth_request_set $stytch_member_id $upstream_http_x_stytch_member_id;
        auth_request_set $stytch_organization_id $upstream_http_x_stytch_organization_id;
        auth_request_set $stytch_user_id $upstream_http_x_stytch_user_id;
        auth_request_set $stytch_roles $upstream_http_x_stytch_roles;

        # A refreshed JWT (and, with SESSION_SLIDING, the session cookie) back to the browser,
        # and the three cookies expired on a 401 ("always"). nginx keeps only one Set-Cookie of a
        # subrequest, so the BFF (VERIFY_COOKIE_COPY_HEADERS=true) also sends each cookie in a
        # header of its own. They live only in these variables: the subrequest's headers never
        # reach the browser or the API, and an empty value adds no header.
        auth_request_set $auth_cookie_jwt $upstream_http_x_set_cookie_jwt;
        auth_request_set $auth_cookie_session $upstream_http_x_set_cookie_session;
        auth_request_set $auth_cookie_ist $upstream_http_x_set_cookie_intermediate_session;
        add_header Set-Cookie $auth_cookie_jwt always;
        add_header Set-Cookie $auth_cookie_session always;
        add_header Set-Cookie $auth_cookie_ist always;

        proxy_pass http://${api};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        # Always set, so a client cannot send its own (an empty value drops the header).
        proxy_set_header X-Stytch-Session-Id $stytch_session_id;
        proxy_set_header X-Stytch-Member-Id $stytch_member_id;
        proxy_set_header X-Stytch-Organization-Id $stytch_organization_id;
        proxy_set_header X-Stytch-User-Id $stytch_user_id;
        proxy_set_header X-Stytch-Roles $stytch_roles;
        # A client's own copies (none of ours are ever in the request) are not passed on either.
        proxy_set_header X-Set-Cookie-Jwt "";
        proxy_set_header X-Set-Cookie-Session "";
        proxy_set_header X-Set-Cookie-Intermediate-Session "";
    }
}
`
}

export interface NginxRun {
  /** absolute directory for pid, logs and temp files */
  dir: string
  site: NginxSite
  /** source address of nginx's connections to the BFF and the API (the address TRUST_PROXY names) */
  proxyBind?: string
  /** running as root: workers must be allowed into the temp dir */
  asRoot: boolean
}

/** A complete nginx.conf for a throw-away nginx run in the foreground, everything inside `dir`. */
export function nginxConfig ({ dir, site, proxyBind, asRoot }: NginxRun): string {
  const indented = nginxServerBlock(site).trimEnd().split('\n').map((line) => (line === '' ? line : `    ${line}`)).join('\n')
  return `${asRoot ? 'user root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;

events {
    worker_connections 128;
}

http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${proxyBind ? `    proxy_bind ${proxyBind};\n` : ''}
${indented}
}
`
}
