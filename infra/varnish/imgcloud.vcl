vcl 4.1;
# img-cloud behind Varnish (SPEC §13), for Debian's Varnish 7.1 with varnish-modules (xkey).
# The same cache-key rules as the CloudFront distribution in infra/template.yaml:
#   - only deliveries (GET and HEAD under /v1/image/) are cached; the API, the dashboard and every
#     write go straight through;
#   - the key is the path and the whole query (signed URLs carry ?expires=&sig=), plus, for f_auto
#     alone, Accept normalised to image/avif, image/webp or nothing;
#   - a request with credentials (Authorization, the session cookie) bypasses the cache;
#   - responses marked private or no-store, and every error, are never stored; a signed response
#     is kept no longer than its max-age (the origin sets it to the signature's remaining life),
#     without grace.
# The server purges an asset's responses (overwrite, delete, visibility change) when started with
# IMGCLOUD_PURGE_URL=http://<this varnish>: `PURGE /` with `xkey-purge: <tag>`, the tag every
# delivery of that asset carries in `xkey`.
#
# Run: varnishd -a :6081 -f /etc/varnish/imgcloud.vcl -s malloc,1G   (see README, "Behind Varnish")

import std;
import xkey;

backend imgcloud {
    .host = "127.0.0.1";
    .port = "8080";
    .connect_timeout = 2s;
    # A first render may wait for a core and then take up to IMGCLOUD_RENDER_SECONDS (20 s).
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 30s;
}

# Who may purge: the img-cloud server. Add its address if it runs on another machine.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "PURGE needs an xkey-purge header"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged " + req.http.n-gone));
    }

    # The viewer's address, for the origin's per-IP limits. The origin believes it only from a CDN
    # that proves itself with IMGCLOUD_ORIGIN_SECRET: to use that, uncomment the next line with
    # the same secret (the origin then refuses requests that come around Varnish).
    # set req.http.X-Imgcloud-Origin = "the value of IMGCLOUD_ORIGIN_SECRET";
    set req.http.CloudFront-Viewer-Address = client.ip + ":" + std.port(client.ip);

    if (req.url !~ "^/v1/image/" || (req.method != "GET" && req.method != "HEAD")) {
        return (pass);
    }
    if (req.http.Authorization || req.http.Cookie ~ "(^|;)\s*(__Host-)?imgcloud_session=") {
        return (pass);
    }
    # Other cookies mean nothing to a delivery; they must neither split nor bypass the cache.
    unset req.http.Cookie;

    # f_auto answers AVIF, WebP or the source's format by Accept (SPEC §6): one entry for each.
    # Any other delivery does not depend on Accept: one entry per URL, whatever the browser sends.
    # The transform is the first segment when another follows.
    if (req.url ~ "^/v1/image/([^/?]*,)?f_auto(,[^/?]*)?/[^?]") {
        if (req.http.Accept ~ "(?i)image/avif") {
            set req.http.Accept = "image/avif";
        } elsif (req.http.Accept ~ "(?i)image/webp") {
            set req.http.Accept = "image/webp";
        } else {
            unset req.http.Accept;
        }
    } else {
        unset req.http.Accept;
    }
    return (hash);
}

sub vcl_hash {
    # The URL (path and query) and the normalised Accept; not the Host, which a delivery ignores.
    hash_data(req.url);
    if (req.http.Accept) {
        hash_data(req.http.Accept);
    }
    return (lookup);
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.status >= 400
        || beresp.http.Set-Cookie
        || beresp.http.Cache-Control ~ "(?i)(private|no-store|no-cache)"
        || !beresp.http.Cache-Control) {
        # Not stored; the next request for this URL goes to the origin again (hit-for-miss, so
        # that it is not queued behind this one either).
        set beresp.uncacheable = true;
        set beresp.ttl = 10s;
        return (deliver);
    }
    if (bereq.url ~ "[?&]sig=") {
        # A signed URL must stop working at its expiry: no stale copy past it.
        set beresp.grace = 0s;
    }
    return (deliver);
}

sub vcl_deliver {
    # Whether Varnish answered from its cache (the origin's own X-Cache says whether it rendered).
    if (obj.uncacheable) {
        set resp.http.X-Cdn-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cdn-Cache = "HIT";
    } else {
        set resp.http.X-Cdn-Cache = "MISS";
    }
    unset resp.http.n-gone;
}

sub vcl_synth {
    set resp.http.Cache-Control = "no-store";
}
