#!/usr/bin/env python3
"""What cfn-lint cannot see in infra/template.yaml. Run by infra/lint, inside its venv.

1. The SAM transform: the template is expanded with aws-sam-translator (as `sam deploy` would, the
   local CodeUri standing in for the uploaded artefact) and written to
   target/infra/template.transformed.json, which infra/lint then lints as plain CloudFormation.
2. The contract the Rust functions rely on: routes to functions, runtime and build settings,
   environment, table keys and indexes, bucket rules, IAM scopes, CloudFront behaviours and policies
   (every behaviour to the HTTP API forwards CloudFront-Viewer-Address, never Host, and on the API
   behaviours every request header the Rust code reads).
3. The dashboard's CSP and headers match the local server's (functions/local/src/dashboard.rs).
4. The inline code runs: the invalidator on sample stream batches (with a stub CloudFront client),
   and the CloudFront Functions on sample requests (with node, when it is installed).

Usage: infra/check.py infra/template.yaml
"""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import cfnlint.decode

ROOT = Path(__file__).resolve().parent.parent
FAILURES = []


def check(condition, what):
    if not condition:
        FAILURES.append(what)
    return condition


def load(path):
    template, matches = cfnlint.decode.decode(str(path))
    if matches:
        sys.exit(f"infra/check.py: cannot parse {path}: {matches}")
    return json.loads(json.dumps(template))  # plain dicts, intrinsics in their long form


# --- 1. The SAM transform ------------------------------------------------------------------------


def sam_transform(template):
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        """The template names no managed policy; SAM only adds the ones it knows by ARN."""

        def load(self):
            return {}

    out_path = ROOT / "target" / "infra" / "template.transformed.json"
    out_path.unlink(missing_ok=True)  # never lint a stale expansion
    ArnGenerator.BOTO_SESSION_REGION_NAME = "us-east-1"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    fragment = json.loads(json.dumps(template))
    for resource in fragment["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket-of-sam-package/artefact.zip"
    try:
        out = transform(fragment, {"AdminEmail": "admin@example.com"}, NoManagedPolicies())
    except Exception as e:  # samtranslator's InvalidDocumentException lists every cause
        causes = getattr(e, "causes", None) or [e]
        for cause in causes:
            check(False, f"SAM transform: {getattr(cause, 'message', cause)}")
        return
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, indent=1))
    check(not any(r["Type"].startswith("AWS::Serverless::") for r in out["Resources"].values()),
          "SAM transform left AWS::Serverless resources")


# --- 2. The contract -----------------------------------------------------------------------------

FUNCTIONS = {
    # logical id: (cargo-lambda binary, memory range MB, timeout range s)
    "ApiFunction": ("api", (512, 1024), (10, 29)),
    "UploadFunction": ("upload", (2048, 3008), (29, 29)),
    "DeliveryFunction": ("delivery", (2048, 3008), (29, 29)),
}

ROUTES = {
    "$default": "ApiFunction",
    "ANY /healthz": "ApiFunction",
    "ANY /v1/openapi.json": "ApiFunction",
    "ANY /v1/auth/{proxy+}": "ApiFunction",
    "ANY /v1/users": "ApiFunction",
    "ANY /v1/users/{proxy+}": "ApiFunction",
    "ANY /v1/api-keys": "ApiFunction",
    "ANY /v1/api-keys/{proxy+}": "ApiFunction",
    "ANY /v1/usage/summary": "ApiFunction",
    "ANY /v1/assets": "ApiFunction",
    "ANY /v1/assets/{proxy+}": "ApiFunction",
    "ANY /v1/upload": "UploadFunction",
    "ANY /v1/uploads": "UploadFunction",
    "ANY /v1/uploads/{proxy+}": "UploadFunction",
    "ANY /v1/image/sign": "ApiFunction",
}

ENVIRONMENT = {
    "IMGCLOUD_BACKEND",
    "IMGCLOUD_BUCKET",
    "IMGCLOUD_TABLE",
    "IMGCLOUD_SIGNING_SECRET",
    "IMGCLOUD_PREVIOUS_SIGNING_SECRETS",
    "IMGCLOUD_ORIGIN_SECRET",
    "IMGCLOUD_PUBLIC_URL",
    "IMGCLOUD_ADMIN_EMAIL",
    "IMGCLOUD_RENDER_SECONDS",
    "IMGCLOUD_RENDER_MEMORY_BYTES",
    "RUST_LOG",
}

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
SESSION_COOKIE = "__Host-imgcloud_session"
VIEWER_ADDRESS = "cloudfront-viewer-address"

# Request headers the Rust code reads that no policy has to forward (lower case).
NOT_FORWARDED_BY_POLICY = {
    "content-length": "goes with the body (and upload.rs bounds the stream itself)",
    "x-forwarded-for": "appended by CloudFront and API Gateway (the fallback client_ip.rs must not need)",
    "x-imgcloud-origin": "the api origin's OriginCustomHeaders",
}
# Where the functions read request headers: `.get(header::X)`, `.get("x")` on headers, and the CSRF
# check's `header("x")`.
RUST_HEADER_SOURCES = ["shared/src/auth.rs", "shared/src/http/*.rs"]


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def statements(function):
    for policy in function["Properties"].get("Policies", []):
        yield from policy.get("Statement", [])


def as_list(value):
    return value if isinstance(value, list) else [value]


def resource_text(statement):
    return json.dumps(statement.get("Resource"))


def check_functions(t):
    resources = t["Resources"]
    globals_ = t["Globals"]["Function"]
    check(globals_.get("Runtime") == "provided.al2023", "Globals: Runtime provided.al2023")
    check(globals_.get("Architectures") == ["arm64"], "Globals: Architectures [arm64]")
    check(globals_.get("Handler") == "bootstrap", "Globals: Handler bootstrap")
    env = globals_.get("Environment", {}).get("Variables", {})
    check(set(env) == ENVIRONMENT, f"Globals: environment is {sorted(env)}, expected {sorted(ENVIRONMENT)}")
    check(env.get("IMGCLOUD_BACKEND") == "aws", "IMGCLOUD_BACKEND=aws")
    check(env.get("RUST_LOG") == "info", "RUST_LOG=info")
    check("{{resolve:secretsmanager:${SigningSecret}}}" in json.dumps(env.get("IMGCLOUD_SIGNING_SECRET")),
          "IMGCLOUD_SIGNING_SECRET resolves the SigningSecret")
    check("{{resolve:secretsmanager:${PreviousSigningSecret}}}"
          in json.dumps(env.get("IMGCLOUD_PREVIOUS_SIGNING_SECRETS")),
          "IMGCLOUD_PREVIOUS_SIGNING_SECRETS resolves the PreviousSigningSecret (verify-only)")
    check("https://" in json.dumps(env.get("IMGCLOUD_PUBLIC_URL")), "IMGCLOUD_PUBLIC_URL is https")
    # A render must give up before its function does (issue 11): else a slow variant is a timeout
    # that every request retries.
    render_seconds = int(env.get("IMGCLOUD_RENDER_SECONDS", "0"))
    check(0 < render_seconds <= 20, f"IMGCLOUD_RENDER_SECONDS={render_seconds} leaves the 29 s functions time to store")
    generate = resources["SigningSecret"]["Properties"]["GenerateSecretString"]
    check(generate.get("PasswordLength", 32) >= 32 and generate.get("ExcludePunctuation") is True,
          "the signing secret: at least 32 characters, no punctuation")

    serverless = of_type(resources, "AWS::Serverless::Function")
    check(set(serverless) == set(FUNCTIONS), f"the SAM functions are {sorted(serverless)}")
    for name, (binary, memory, timeout) in FUNCTIONS.items():
        fn = serverless.get(name)
        if not check(fn is not None, f"{name} missing"):
            continue
        props, meta = fn["Properties"], fn.get("Metadata", {})
        check(meta.get("BuildMethod") == "rust-cargolambda", f"{name}: BuildMethod rust-cargolambda")
        check(meta.get("BuildProperties", {}).get("Binary") == binary, f"{name}: Binary {binary}")
        check(props.get("CodeUri") == "..", f"{name}: CodeUri .. (the workspace root)")
        check(memory[0] <= props.get("MemorySize", 0) <= memory[1], f"{name}: MemorySize within {memory}")
        check(timeout[0] <= props.get("Timeout", 0) <= timeout[1], f"{name}: Timeout within {timeout}")
        check("Events" not in props, f"{name}: no SAM Events (they would make the API depend on the function)")
        for s in statements(fn):
            for action in as_list(s["Action"]):
                check("*" not in action, f"{name}: wildcard action {action}")
            if any(a.startswith("s3:") and a != "s3:ListBucket" for a in as_list(s["Action"])):
                for arn in as_list(s["Resource"]):
                    text = json.dumps(arn)
                    check("/assets/*" in text or "/staging/*" in text, f"{name}: object access outside assets/ or staging/")
    delivery_actions = {a for s in statements(serverless.get("DeliveryFunction", {"Properties": {}})) for a in as_list(s["Action"])}
    check("s3:DeleteObject" not in delivery_actions, "delivery cannot delete objects")
    check({"s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:ListBucket"} <= delivery_actions,
          "delivery reads originals, writes tagged variants, and sees missing keys as 404 (ListBucket)")
    for s in statements(serverless.get("DeliveryFunction", {"Properties": {}})):
        if set(as_list(s["Action"])) & {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}:
            check("dynamodb:LeadingKeys" in json.dumps(s.get("Condition")), "delivery's table writes are scoped by key prefix")
    delivery = serverless.get("DeliveryFunction", {"Properties": {}})["Properties"]
    check(delivery.get("FunctionUrlConfig") == {"AuthType": "AWS_IAM", "InvokeMode": "RESPONSE_STREAM"},
          "delivery answers from a streaming function URL with IAM auth (CloudFront's OAC)")
    delivery_env = delivery.get("Environment", {}).get("Variables", {})
    check(delivery_env.get("IMGCLOUD_LAMBDA_RESPONSE_MODE") == "response_stream",
          "delivery streams (IMGCLOUD_LAMBDA_RESPONSE_MODE=response_stream, read by shared/src/lambda.rs)")
    check("https://" in json.dumps(delivery_env.get("IMGCLOUD_PUBLIC_URL"))
          and "Distribution" not in json.dumps(delivery_env.get("IMGCLOUD_PUBLIC_URL")),
          "delivery's public URL is https and names no distribution (whose origin is its URL: a cycle)")
    upload_text = json.dumps(list(statements(serverless.get("UploadFunction", {"Properties": {}}))))
    check("/staging/*" in upload_text, "upload can use staging/")


def check_routes(t):
    resources = t["Resources"]
    integrations = {}
    for name, r in of_type(resources, "AWS::ApiGatewayV2::Integration").items():
        uri = r["Properties"]["IntegrationUri"]
        integrations[name] = uri.get("Fn::GetAtt", [None])[0]
        check(r["Properties"].get("PayloadFormatVersion") == "2.0", f"{name}: payload format 2.0")
    routes = {}
    for name, r in of_type(resources, "AWS::ApiGatewayV2::Route").items():
        target = r["Properties"]["Target"]["Fn::Sub"]
        routes[r["Properties"]["RouteKey"]] = integrations.get(target.removeprefix("integrations/${").rstrip("}"))
    check(routes == ROUTES, f"routes differ: {sorted(set(routes.items()) ^ set(ROUTES.items()))}")
    permitted = {r["Properties"]["FunctionName"]["Ref"] for r in of_type(resources, "AWS::Lambda::Permission").values()}
    check(set(ROUTES.values()) <= permitted, "every routed function lets API Gateway invoke it")
    api = resources["HttpApi"]
    check(api["Type"] == "AWS::ApiGatewayV2::Api", "HttpApi is a plain AWS::ApiGatewayV2::Api")
    check("Body" not in api["Properties"] and "Target" not in api["Properties"], "HttpApi names no function")


def check_storage(t):
    table = t["Resources"]["Table"]["Properties"]
    check(table["BillingMode"] == "PAY_PER_REQUEST", "table on demand")
    check(table["KeySchema"] == [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
          "table keys PK/SK")
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    check(sorted(indexes) == ["GSI1", "GSI2", "GSI3"], "indexes GSI1-3")
    for n, index in indexes.items():
        check([k["AttributeName"] for k in index["KeySchema"]] == [f"{n}PK", f"{n}SK"], f"{n} keys")
        check(index["Projection"] == {"ProjectionType": "ALL"}, f"{n} projects ALL")
    check(all(a["AttributeType"] == "S" for a in table["AttributeDefinitions"]), "key attributes are strings")
    check(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, "PITR")
    check(table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}, "TTL on ttl")
    check(table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES", "stream with both images")

    bucket = t["Resources"]["AssetBucket"]["Properties"]
    check(all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4,
          "asset bucket blocks public access")
    check(bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}], "BucketOwnerEnforced")
    check("BucketEncryption" in bucket, "asset bucket encrypted")
    rules = bucket["LifecycleConfiguration"]["Rules"]
    check(any(r.get("TagFilters") == [{"Key": "imgcloud-kind", "Value": "variant"}]
              and r.get("ExpirationInDays") == {"Ref": "VariantExpirationDays"} for r in rules), "variants expire")
    check(any(r.get("Prefix") == "staging/" and r.get("ExpirationInDays") == 1 for r in rules), "staging/ expires in a day")
    check(any(r.get("AbortIncompleteMultipartUpload") == {"DaysAfterInitiation": 1} for r in rules),
          "incomplete multipart uploads aborted")
    cors = bucket["CorsConfiguration"]["CorsRules"][0]
    check("POST" in cors["AllowedMethods"], "browsers may POST to the bucket")
    tls = [s for s in t["Resources"]["AssetBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
           if s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s)]
    check(bool(tls), "asset bucket is TLS-only")


def check_cloudfront(t):
    resources = t["Resources"]
    config = resources["Distribution"]["Properties"]["DistributionConfig"]
    check(config["HttpVersion"] == "http2and3", "HTTP/2 and 3")
    check(config["PriceClass"] == {"Ref": "PriceClass"}, "PriceClass parameter")
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    check(all(b["ViewerProtocolPolicy"] == "redirect-to-https" for b in behaviours), "https everywhere")
    patterns = [b["PathPattern"] for b in config["CacheBehaviors"]]
    check(patterns.index("/v1/image/sign") < patterns.index("/v1/image/*"), "/v1/image/sign is matched before /v1/image/*")
    image = config["CacheBehaviors"][patterns.index("/v1/image/*")]
    check(image["CachePolicyId"] == {"Ref": "ImageCachePolicy"}, "images use ImageCachePolicy")
    check(any(f["EventType"] == "viewer-request" and "ImageAcceptFunction" in json.dumps(f)
              for f in image.get("FunctionAssociations", [])), "Accept is normalised on viewer-request")
    key = resources["ImageCachePolicy"]["Properties"]["CachePolicyConfig"]
    params = key["ParametersInCacheKeyAndForwardedToOrigin"]
    check(key["MinTTL"] == 0 and key["MaxTTL"] >= 31536000, "image TTL from the origin's Cache-Control (MinTTL 0)")
    check("Accept" in params["HeadersConfig"]["Headers"], "images keyed on Accept")
    check(params["QueryStringsConfig"]["QueryStringBehavior"] == "all", "images keyed on the query (expires, sig)")
    check("Authorization" in params["HeadersConfig"]["Headers"]
          and "__Host-imgcloud_session" in params["CookiesConfig"].get("Cookies", []),
          "credentials are in the image cache key (no response crosses an authorisation boundary)")
    dashboard = config["CacheBehaviors"][patterns.index("/dashboard*")]
    check(dashboard["TargetOriginId"] == "dashboard" and "ResponseHeadersPolicyId" in dashboard,
          "the dashboard comes from its bucket with its headers")
    check(dashboard["CachePolicyId"] == CACHING_DISABLED, "the dashboard is not cached at the edge")
    origins = {o["Id"]: o for o in config["Origins"]}
    check("OriginAccessControlId" in origins["dashboard"], "the dashboard bucket is read through OAC")
    check(image["TargetOriginId"] == "images" and image["AllowedMethods"] == ["GET", "HEAD"],
          "deliveries (GET, HEAD) go to the delivery function's URL")
    check('["DeliveryFunctionUrl", "FunctionUrl"]' in json.dumps(origins["images"]["DomainName"])
          and origins["images"].get("OriginAccessControlId") == {"Fn::GetAtt": ["DeliveryOriginAccessControl", "Id"]},
          "the images origin is the function URL, signed by origin access control")
    oac = resources["DeliveryOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    check((oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("lambda", "always"),
          "the delivery OAC signs every request for Lambda")
    url_permissions = {r["Properties"]["Action"]: r["Properties"] for r in of_type(resources, "AWS::Lambda::Permission").values()
                       if r["Properties"].get("Principal") == "cloudfront.amazonaws.com"}
    check(set(url_permissions) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
          and all("distribution/${Distribution}" in json.dumps(p["SourceArn"]) for p in url_permissions.values()),
          "only this distribution may invoke the delivery function's URL")
    origin_headers = {h["HeaderName"]: h["HeaderValue"] for h in origins["api"].get("OriginCustomHeaders", [])}
    check("{{resolve:secretsmanager:${OriginSecret}}}" in json.dumps(origin_headers.get("X-Imgcloud-Origin")),
          "CloudFront proves itself to the functions with the origin secret (IMGCLOUD_ORIGIN_SECRET)")
    check_api_forwarding(t, config)


def rust_request_headers():
    """The request headers the functions read, lower case, with where each is read."""
    found = {}
    for pattern in RUST_HEADER_SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            text = path.read_text()
            text = text.split("#[cfg(test)]")[0]  # the tests build requests, they do not read them
            hits = [m.group(1).lower().replace("_", "-") for m in re.finditer(r"\.get(?:_all)?\(\s*header::([A-Z_]+)\s*\)", text)]
            hits += [m.group(1).lower() for m in re.finditer(r"\bheader\(\s*\"([A-Za-z0-9-]+)\"\s*\)", text)]
            hits += [m.group(1).lower() for m in re.finditer(r"\.get(?:_all)?\(\s*\"([A-Za-z0-9-]+)\"\s*\)", text)
                     if "header" in text[max(0, m.start() - 40):m.start()]]
            for name in hits:
                found.setdefault(name, path.relative_to(ROOT).as_posix())
    return found


def lower(names):
    return {n.lower() for n in names or []}


def forwarded_headers(headers_config):
    """(viewer headers forwarded: a set, or ("all but", set)), CloudFront headers added, Host forwarded."""
    behaviour, names = headers_config["HeaderBehavior"], lower(headers_config.get("Headers"))
    if behaviour == "none":
        return set(), set(), False
    if behaviour == "whitelist":
        generated = {n for n in names if n.startswith("cloudfront-")}
        return names - generated, generated, "host" in names
    if behaviour == "allExcept":  # viewer headers only: CloudFront adds none of its own
        return ("all but", names), set(), "host" not in names
    if behaviour == "allViewer":
        return ("all but", set()), set(), True
    if behaviour == "allViewerAndWhitelistCloudFront":
        return ("all but", set()), names, True
    raise ValueError(f"HeaderBehavior {behaviour}")


def includes(viewer, name):
    if isinstance(viewer, tuple):
        return name not in viewer[1]
    return name in viewer


def check_api_forwarding(t, config):
    """Every behaviour whose origin is the HTTP API (the api, upload and delivery functions): never
    the viewer's Host (API Gateway routes on its own), always CloudFront-Viewer-Address (the per-IP
    limits, client_ip.rs; without it every viewer is CloudFront's edge), and on the API behaviours
    every request header the Rust code reads. A managed origin request policy does not pass: none
    forwards CloudFront-Viewer-Address without Host (Managed-AllViewerExceptHostHeader is
    `allExcept: [Host]`, viewer headers only)."""
    resources = t["Resources"]
    api_origins = {o["Id"] for o in config["Origins"] if "CustomOriginConfig" in o and "${HttpApi}" in json.dumps(o["DomainName"])}
    check(api_origins == {"api"}, f"the HTTP API is the origin {sorted(api_origins)}, expected api")
    read = rust_request_headers()
    check({"authorization", "cookie", VIEWER_ADDRESS} <= set(read),
          f"the header scan of {RUST_HEADER_SOURCES} finds the credentials and the viewer's address (found {sorted(read)})")
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    for b in behaviours:
        if b["TargetOriginId"] not in api_origins:
            continue
        where = f"behaviour {b.get('PathPattern', 'default')}"
        orp_ref = b.get("OriginRequestPolicyId")
        orp = resources.get(orp_ref["Ref"]) if isinstance(orp_ref, dict) and "Ref" in orp_ref else None
        if not check(orp is not None and orp["Type"] == "AWS::CloudFront::OriginRequestPolicy",
                     f"{where}: origin request policy {orp_ref!r} is not one of this template's, so nothing shows it "
                     "forwards CloudFront-Viewer-Address (the managed AllViewerExceptHostHeader does not): the per-IP "
                     "limits would see CloudFront's edge for every viewer"):
            continue
        orp_config = orp["Properties"]["OriginRequestPolicyConfig"]
        viewer, generated, host = forwarded_headers(orp_config["HeadersConfig"])
        check(VIEWER_ADDRESS in generated, f"{where}: {orp_ref['Ref']} does not forward CloudFront-Viewer-Address "
                                           "(the per-IP limits would see CloudFront's edge for every viewer)")
        check(not host, f"{where}: {orp_ref['Ref']} forwards the viewer's Host, which API Gateway refuses")

        cp_ref = b.get("CachePolicyId")
        cp = resources.get(cp_ref["Ref"]) if isinstance(cp_ref, dict) and "Ref" in cp_ref else None
        key = cp["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"] if cp else None
        key_headers = lower(key["HeadersConfig"].get("Headers")) if key else set()
        key_cookies = set(key["CookiesConfig"].get("Cookies", [])) if key else set()
        check("authorization" in key_headers and SESSION_COOKIE in key_cookies,
              f"{where}: the cache policy must key on Authorization (an origin request policy cannot forward it) and "
              f"on {SESSION_COOKIE}, so no response crosses an authorisation boundary")
        check(key is not None and key["QueryStringsConfig"]["QueryStringBehavior"] == "all",
              f"{where}: the cache key holds the whole query")
        if b.get("PathPattern") == "/v1/image/*":
            continue  # deliveries: GET only, their headers are the image policies' (check_cloudfront)
        cp_config = cp["Properties"]["CachePolicyConfig"] if cp else {}
        check(cp_config.get("MinTTL") == 0 and cp_config.get("DefaultTTL") == 0 and cp_config.get("MaxTTL", 2) <= 1,
              f"{where}: the API is not cached (MinTTL 0, DefaultTTL 0, MaxTTL at most 1)")
        check(orp_config["CookiesConfig"]["CookieBehavior"] == "all", f"{where}: every cookie reaches the API")
        check(orp_config["QueryStringsConfig"]["QueryStringBehavior"] == "all", f"{where}: the query reaches the API")
        for name, source in sorted(read.items()):
            if name in NOT_FORWARDED_BY_POLICY or name in ("authorization", "cookie", VIEWER_ADDRESS):  # checked above
                continue
            check(includes(viewer, name) or name in generated or name in key_headers,
                  f"{where}: {source} reads {name}, which {orp_ref['Ref']} does not forward")


# --- 3. The dashboard's headers match the local server's ----------------------------------------


def csp_directives(text):
    out = {}
    for directive in filter(None, (d.strip() for d in text.split(";"))):
        name, *sources = directive.split()
        out[name] = sources
    return out


def check_dashboard_headers(t):
    rust = (ROOT / "functions/local/src/dashboard.rs").read_text()
    match = re.search(r'const CSP: &str = "(.*?)";', rust, re.S)
    if not check(match is not None, "dashboard.rs: CSP constant not found"):
        return
    local = csp_directives(re.sub(r"\\\n\s*", "", match.group(1)))
    config = t["Resources"]["DashboardHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    template_csp, _ = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    aws = csp_directives(template_csp)
    check(set(aws) == set(local), f"CSP directives differ from dashboard.rs: {sorted(set(aws) ^ set(local))}")
    for name, sources in local.items():
        extra = [s for s in aws.get(name, []) if s not in sources]
        check(set(sources) <= set(aws.get(name, [])), f"CSP {name} lacks dashboard.rs's sources")
        check(all(re.fullmatch(r"https://\$\{Bucket\}\.s3\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}", s) for s in extra)
              and (not extra or name in ("img-src", "connect-src")),
              f"CSP {name} adds {extra}: only the asset bucket, only for images and fetches")
    frame = re.search(r'X_FRAME_OPTIONS, HeaderValue::from_static\("([^"]+)"\)', rust)
    referrer = re.search(r'REFERRER_POLICY, HeaderValue::from_static\("([^"]+)"\)', rust)
    check(frame is not None and security["FrameOptions"]["FrameOption"] == frame.group(1), "X-Frame-Options as dashboard.rs")
    check(referrer is not None and security["ReferrerPolicy"]["ReferrerPolicy"] == referrer.group(1),
          "Referrer-Policy as dashboard.rs")


# --- 4. The inline code runs ---------------------------------------------------------------------


class FakeCloudFront:
    def __init__(self):
        self.calls = []

    def create_invalidation(self, **kwargs):
        self.calls.append(kwargs)
        return {"Invalidation": {"Id": f"I{len(self.calls)}"}}


def stream_record(event_name, public_id, old=None, new=None):
    def image(attrs):
        item = {"PK": {"S": f"ASSET#{public_id}"}, "SK": {"S": "ASSET"}, "public_id": {"S": public_id}}
        item.update(attrs)
        return item

    ddb = {"Keys": {"PK": {"S": f"ASSET#{public_id}"}, "SK": {"S": "ASSET"}}}
    if old is not None:
        ddb["OldImage"] = image(old)
    if new is not None:
        ddb["NewImage"] = image(new)
    return {"eventName": event_name, "dynamodb": ddb}


def check_invalidator(t):
    resources = t["Resources"]
    fn = resources["InvalidatorFunction"]["Properties"]
    check(fn["Runtime"] == "python3.12", "invalidator on python3.12")
    pattern = json.loads(resources["InvalidatorEventSource"]["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"])
    check(pattern == {"eventName": ["MODIFY", "REMOVE"],
                      "dynamodb": {"Keys": {"PK": {"S": [{"prefix": "ASSET#"}]}, "SK": {"S": ["ASSET"]}}}},
          "the stream filter takes modified and removed asset items")
    role = json.dumps(resources["InvalidatorRole"]["Properties"]["Policies"])
    check('"cloudfront:CreateInvalidation"' in role and "distribution/${Distribution}" in role,
          "the invalidator may invalidate this distribution only")

    import boto3

    fake = FakeCloudFront()
    real_client, boto3.client = boto3.client, lambda *args, **kwargs: fake
    module = types.ModuleType("invalidator")
    os.environ["DISTRIBUTION_ID"] = "EDISTRIBUTION"
    try:
        exec(compile(fn["Code"]["ZipFile"], "InvalidatorFunction", "exec"), module.__dict__)
    finally:
        boto3.client = real_client
    context = types.SimpleNamespace(aws_request_id="request-1")
    v1 = {"version": {"N": "1"}, "blob_id": {"S": "b1"}, "visibility": {"S": "public"}, "tags": {"L": []}}
    v2 = {**v1, "version": {"N": "2"}, "blob_id": {"S": "b2"}}
    tagged = {**v1, "tags": {"L": [{"S": "new"}]}, "variant_bytes": {"N": "1234"}}
    private = {**v1, "visibility": {"S": "private"}}
    focused = {**v1, "focal_point": {"S": '{"x":0.2,"y":0.3}'}}
    batch = {"Records": [
        stream_record("MODIFY", "overwritten", v1, v2),
        stream_record("MODIFY", "retagged", v1, tagged),
        stream_record("REMOVE", "deleted", old=v1),
        stream_record("MODIFY", "hidden", v1, private),
        stream_record("MODIFY", "refocused", v1, focused),
        stream_record("MODIFY", "overwritten", v2, {**v2, "version": {"N": "3"}}),
    ]}
    with contextlib.redirect_stdout(io.StringIO()) as log:
        result = module.handler(batch, context)
    check('"asset_count": 4' in log.getvalue(), "the invalidator logs what it invalidated")
    check(result == {"invalidated": ["deleted", "hidden", "overwritten", "refocused"]}, f"invalidator result {result}")
    check(len(fake.calls) == 1, f"one invalidation per batch, got {len(fake.calls)}")
    if fake.calls:
        call = fake.calls[0]
        check(call["DistributionId"] == "EDISTRIBUTION", "invalidates DISTRIBUTION_ID")
        check(call["InvalidationBatch"]["Paths"] == {"Quantity": 1, "Items": ["/v1/image/*"]}, "invalidates /v1/image/*")
        check(call["InvalidationBatch"]["CallerReference"] == "request-1", "caller reference is the request id")
    fake.calls.clear()
    quiet = module.handler({"Records": [stream_record("MODIFY", "retagged", v1, tagged)]}, context)
    check(quiet == {"invalidated": []} and not fake.calls, "metadata-only changes invalidate nothing")


IMAGE_CASES = [
    # (uri, viewer Accept or None, Accept CloudFront keys on and forwards, or None)
    ("/v1/image/w_200,f_auto/cat", "image/avif,image/webp,image/apng,*/*;q=0.8", "image/avif"),
    ("/v1/image/f_auto/a/b/cat", "image/webp,*/*", "image/webp"),
    ("/v1/image/f_auto,w_2/cat", "IMAGE/WEBP", "image/webp"),
    ("/v1/image/f_auto/cat", "*/*", None),
    ("/v1/image/f_auto/cat", None, None),
    ("/v1/image/w_200/cat", "image/avif,image/webp", None),
    ("/v1/image/cat", "image/avif", None),
    ("/v1/image/my_photo/f_auto", "image/avif", None),
    ("/v1/image/f_jpg/cat", "image/avif", None),
]

DASHBOARD_CASES = [
    # (uri, rewritten uri, or the redirect's location)
    ("/dashboard", ("redirect", "/dashboard/")),
    ("/dashboard/", ("uri", "/dashboard/index.html")),
    ("/dashboard/js/app.js", ("uri", "/dashboard/js/app.js")),
    ("/dashboard/app.css", ("uri", "/dashboard/app.css")),
]


def viewer_request(uri, accept=None):
    headers = {"host": {"value": "d111111abcdef8.cloudfront.net"}}
    if accept is not None:
        headers["accept"] = {"value": accept}
    return {
        "version": "1.0",
        "context": {"eventType": "viewer-request"},
        "viewer": {"ip": "192.0.2.1"},
        "request": {"method": "GET", "uri": uri, "querystring": {}, "headers": headers, "cookies": {}},
    }


def run_cloudfront_function(code, events):
    program = code + "\nconsole.log(JSON.stringify(" + json.dumps(events) + ".map(function (e) { return handler(e); })));\n"
    done = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=60)
    if not check(done.returncode == 0, f"CloudFront Function failed under node: {done.stderr.strip()}"):
        return None
    return json.loads(done.stdout)


def check_cloudfront_functions(t):
    resources = t["Resources"]
    for name in ("ImageAcceptFunction", "DashboardIndexFunction"):
        check(resources[name]["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0", f"{name}: cloudfront-js-2.0")
    if shutil.which("node") is None:
        print("infra/check.py: node is not installed; the CloudFront Functions were not run")
        return
    image = run_cloudfront_function(resources["ImageAcceptFunction"]["Properties"]["FunctionCode"],
                                    [viewer_request(uri, accept) for uri, accept, _ in IMAGE_CASES])
    for (uri, accept, expected), out in zip(IMAGE_CASES, image or []):
        got = out["headers"].get("accept", {}).get("value")
        check(got == expected and out["uri"] == uri, f"Accept for {uri} with {accept!r}: {got!r}, expected {expected!r}")
    dashboard = run_cloudfront_function(resources["DashboardIndexFunction"]["Properties"]["FunctionCode"],
                                        [viewer_request(uri) for uri, _ in DASHBOARD_CASES])
    for (uri, (kind, expected)), out in zip(DASHBOARD_CASES, dashboard or []):
        if kind == "redirect":
            got = out.get("statusCode"), out.get("headers", {}).get("location", {}).get("value")
            check(got == (308, expected), f"{uri}: {got}, expected a 308 to {expected}")
        else:
            check(out.get("uri") == expected, f"{uri}: rewritten to {out.get('uri')}, expected {expected}")


def main():
    path = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "infra/template.yaml")
    template = load(path)
    sam_transform(template)
    for part in (check_functions, check_routes, check_storage, check_cloudfront, check_dashboard_headers,
                 check_invalidator, check_cloudfront_functions):
        try:
            part(template)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            check(False, f"{part.__name__}: the template lacks what it looks for ({type(e).__name__}: {e})")
    for failure in FAILURES:
        print(f"infra/check.py: {failure}", file=sys.stderr)
    if FAILURES:
        sys.exit(1)
    print(f"infra/check.py: {path} keeps the contract (SAM transform, routes, IAM, CloudFront, inline code)")


if __name__ == "__main__":
    main()
