#!/usr/bin/env python3
"""The Busgate AWS stack, offline: everything `template.yaml` defines, run on this machine.

Started by `infra/stack.sh up` (read that first); this process:

* reads template.yaml (no second description) with the CloudFormation intrinsics it uses
  (Ref, Sub, GetAtt, If, Equals, Not, pseudo parameters) and the parameter values given;
* creates the table (keys, GSI, TTL) in DynamoDB (Local), the queues (visibility timeout,
  redrive) and the SSM parameters the functions read in moto;
* runs every AWS::Serverless::Function as its own process from its binary, under a small
  Lambda Runtime API (one per function), with exactly the environment the template gives it
  (Globals merged), its Timeout enforced (the process is killed, as Lambda ends the sandbox)
  and its MemorySize watched (an instance over it is killed);
* gives each function its own credentials and authorises every AWS call it makes against its
  own inline policy from the template (a proxy in front of the emulators: AccessDenied, and a
  record, for anything the policy does not allow);
* serves the HTTP API: the template's routes as payload-v2 events ($default stage), greedy
  `{proxy+}` paths ranked after exact ones, and the JWT authorizer of the routes that name one
  (the Cognito user pool and its app client are created in moto, with a console test user; the
  ID token's signature, issuer, audience and expiry are checked, its claims handed on in
  `requestContext.authorizer.jwt.claims`, anything else answered 401);
* runs the SQS event source mapping (batch size, ReportBatchItemFailures) and the schedule;
* runs the AWS Parameters and Secrets Lambda Extension for the functions with its layer
  (optionally slow to come up), backed by SSM through the same policy check;
* runs fake TOP and Fenbeitong gateways that verify signatures and record calls.

When ready it writes `<state>/stack.env` (KEY=value lines). Standard library + boto3 + PyYAML.
"""
import argparse
import base64
import fnmatch
import hashlib
import hmac
import http.server
import json
import os
import queue
import random
import re
import signal
import socketserver
import string
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
import botocore.config
import yaml

REGION = "us-east-1"
INIT_LIMIT = 10  # seconds Lambda gives an on-demand function's init phase
ACCOUNT = "123456789012"
NO_VALUE = object()


def log(*a):
    print("[stackd]", *a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# template.yaml and its intrinsics


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            v = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                v = v.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            v = loader.construct_sequence(node, deep=True)
        else:
            v = loader.construct_mapping(node, deep=True)
        return {name: v}
    return construct


for _t in ["Ref", "Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split", "FindInMap", "Base64", "Condition"]:
    CfnLoader.add_constructor("!" + _t, _tag("Ref" if _t == "Ref" else ("Condition" if _t == "Condition" else "Fn::" + _t)))


class Template:
    def __init__(self, path, params):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.load(f, Loader=CfnLoader)
        self.params = {}
        for name, spec in self.doc.get("Parameters", {}).items():
            if name in params:
                v = params[name]
            elif "Default" in spec:
                v = str(spec["Default"])
            else:
                raise SystemExit(f"template parameter {name} has no default: give --param {name}=...")
            allowed = spec.get("AllowedValues")
            if allowed is not None and v not in [str(a) for a in allowed]:
                raise SystemExit(f"parameter {name}={v!r} is not one of {allowed}")
            pattern = spec.get("AllowedPattern")
            if pattern is not None and not re.fullmatch(pattern, v):
                raise SystemExit(f"parameter {name}={v!r} does not match {pattern}")
            self.params[name] = v
        unknown = set(params) - set(self.params)
        if unknown:
            raise SystemExit(f"unknown template parameters: {sorted(unknown)}")
        self.stack = "busgate-" + self.params.get("Stage", "dev")
        self.refs = {}  # logical id -> Ref value
        self.atts = {}  # (logical id, attribute) -> value
        self.conditions = {}
        for name, expr in self.doc.get("Conditions", {}).items():
            self.conditions[name] = bool(self.resolve(expr))

    @property
    def resources(self):
        return self.doc["Resources"]

    def pseudo(self, name):
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack,
            "AWS::NoValue": NO_VALUE,
        }.get(name)

    def ref(self, name):
        if name in self.params:
            return self.params[name]
        p = self.pseudo(name)
        if p is not None:
            return p
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"Ref {name}: not (yet) created")

    def sub(self, text, extra=None):
        def one(m):
            key = m.group(1)
            if extra and key in extra:
                return str(extra[key])
            if "." in key:
                lid, att = key.split(".", 1)
                return str(self.atts[(lid, att)])
            return str(self.ref(key))
        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def resolve(self, v):
        if isinstance(v, list):
            out = [self.resolve(x) for x in v]
            return [x for x in out if x is not NO_VALUE]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (k, a), = v.items()
            if k == "Ref":
                return self.ref(a)
            if k == "Fn::Sub":
                if isinstance(a, list):
                    extra = {n: self.resolve(x) for n, x in a[1].items()}
                    return self.sub(a[0], extra)
                return self.sub(a)
            if k == "Fn::GetAtt":
                return self.atts[(a[0], a[1])]
            if k == "Fn::If":
                return self.resolve(a[1] if self.conditions[a[0]] else a[2])
            if k == "Fn::Equals":
                x, y = self.resolve(a[0]), self.resolve(a[1])
                return str(x) == str(y)
            if k == "Fn::Not":
                return not self.resolve(a[0])
            if k == "Fn::And":
                return all(self.resolve(x) for x in a)
            if k == "Fn::Or":
                return any(self.resolve(x) for x in a)
            if k == "Condition":
                return self.conditions[a]
            if k == "Fn::Join":
                return a[0].join(str(x) for x in self.resolve(a[1]))
        out = {}
        for k, x in v.items():
            r = self.resolve(x)
            if r is not NO_VALUE:
                out[k] = r
        return out


# ------------------------------------------------------------------------------------------------
# IAM: each function's inline policy, evaluated on every AWS call it makes


def _as_list(x):
    return x if isinstance(x, list) else [x]


def wildcard(pattern, value):
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


class Policy:
    def __init__(self, statements):
        self.statements = statements

    def allows(self, action, resource):
        allowed = False
        for st in self.statements:
            if "Condition" in st:
                continue  # not evaluated here: never grants
            actions = _as_list(st.get("Action", []))
            resources = _as_list(st.get("Resource", []))
            if not any(wildcard(a.lower(), action.lower()) for a in actions):
                continue
            if not any(wildcard(r, resource) for r in resources):
                continue
            if st.get("Effect") == "Deny":
                return False
            allowed = True
        return allowed


def table_arn(name):
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def queue_arn(url):
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rstrip('/').rsplit('/', 1)[-1]}"


def parameter_arn(name):
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name if name.startswith('/') else '/' + name}"


def required_permissions(service, op, body):
    """(action, resource) pairs that authorise one API call, as IAM evaluates them."""
    if service == "dynamodb":
        if op == "TransactWriteItems":
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
            out = []
            for item in body.get("TransactItems", []):
                for k, act in kinds.items():
                    if k in item:
                        out.append((f"dynamodb:{act}", table_arn(item[k]["TableName"])))
            return out
        if op == "TransactGetItems":
            return [("dynamodb:GetItem", table_arn(i["Get"]["TableName"])) for i in body.get("TransactItems", [])]
        if op in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{op}", table_arn(t)) for t in body.get("RequestItems", {})]
        arn = table_arn(body.get("TableName", "*"))
        if op in ("Query", "Scan") and body.get("IndexName"):
            arn += "/index/" + body["IndexName"]
        return [(f"dynamodb:{op}", arn)]
    if service == "sqs":
        if op == "ListQueues":
            return [("sqs:ListQueues", "*")]
        act = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage", "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}.get(op, op)
        return [(f"sqs:{act}", queue_arn(body.get("QueueUrl", "")))]
    if service == "ssm":
        if op == "GetParameters":
            return [("ssm:GetParameters", parameter_arn(n)) for n in body.get("Names", [])]
        return [(f"ssm:{op}", parameter_arn(body.get("Name", "")))]
    return [(f"{service}:{op}", "*")]


# ------------------------------------------------------------------------------------------------
# small HTTP helpers


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler_cls, port=0, start=True):
    srv = Server(("127.0.0.1", port), handler_cls)
    if start:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", headers=None, content_type="application/json", cookies=()):
        if isinstance(body, str):
            body = body.encode()
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        hs = dict(headers or {})
        if content_type and not any(k.lower() == "content-type" for k in hs):
            hs["content-type"] = content_type
        for k, v in hs.items():
            self.send_header(k, v)
        for c in cookies:
            self.send_header("set-cookie", c)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_on(sock, handler_cls):
    """Serves `handler_cls` on a socket from `reserve_port`, from now on."""
    srv = Server(sock.getsockname(), handler_cls, bind_and_activate=False)
    srv.socket.close()
    srv.socket = sock
    srv.server_activate()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def reserve_port():
    """A socket bound now and listened on later: the port is ours from the start (the tests run
    several stacks at once; a port found free and bound later can be taken in between), and
    connections to it are refused until it listens, as with an extension not yet serving."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


# ------------------------------------------------------------------------------------------------
# the stack


class Stack:
    def __init__(self, args):
        self.args = args
        self.state = args.state_dir
        self.logs = os.path.join(self.state, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.tpl = Template(args.template, dict(p.split("=", 1) for p in args.param))
        self.ddb_endpoint = args.ddb_endpoint
        self.moto_endpoint = args.moto_endpoint
        self.suffix = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))
        self.functions = {}  # logical id -> Function
        self.by_key = {}  # access key id -> Function (or None for the admin)
        self.denials = []
        self.user_pools = []
        self.user_pool_clients = []
        self.lock = threading.Lock()
        self.stopping = False

    def admin(self, service, endpoint=None):
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=endpoint or (self.ddb_endpoint if service == "dynamodb" else self.moto_endpoint),
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=botocore.config.Config(retries={"max_attempts": 2}),
        )

    # ---------------------------------------------------------------- resources
    def create_resources(self):
        res = self.tpl.resources
        for lid, r in res.items():
            if r["Type"] == "AWS::DynamoDB::Table":
                self.create_table(lid, r)
        # Queues: those without a redrive target first (a DLQ must exist before its source).
        queues = [(lid, r) for lid, r in res.items() if r["Type"] == "AWS::SQS::Queue"]
        queues.sort(key=lambda x: "RedrivePolicy" in x[1].get("Properties", {}))
        for lid, r in queues:
            self.create_queue(lid, r)
        # Cognito: user pools first (their clients name them).
        for kind in ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient"):
            for lid, r in res.items():
                if r["Type"] == kind:
                    self.create_cognito(lid, r)
        self.tpl.refs["HttpApi"] = "offline"
        # Resources that are not emulated (log groups, alarms, topics, the dashboard) still have a
        # Ref; log output goes to <state>/logs instead.
        for lid, r in res.items():
            if lid in self.tpl.refs or r["Type"] == "AWS::Serverless::Function":
                continue
            if r["Type"] == "AWS::Logs::LogGroup":
                self.tpl.refs[lid] = self.tpl.resolve(r["Properties"]["LogGroupName"])
            else:
                self.tpl.refs[lid] = f"{self.tpl.stack}-{lid}"

    def create_table(self, lid, r):
        p = self.tpl.resolve(r["Properties"])
        name = p.get("TableName") or f"{self.tpl.stack}-{lid}-{self.suffix}"
        ddb = self.admin("dynamodb")
        kw = dict(TableName=name, AttributeDefinitions=p["AttributeDefinitions"], KeySchema=p["KeySchema"], BillingMode=p.get("BillingMode", "PAY_PER_REQUEST"))
        if p.get("GlobalSecondaryIndexes"):
            kw["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
        ddb.create_table(**kw)
        ttl = p.get("TimeToLiveSpecification")
        if ttl:
            try:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            except Exception as e:  # older emulators: note it, the table still works
                log(f"TTL on {name} not set by the emulator: {e}")
        self.tpl.refs[lid] = name
        self.tpl.atts[(lid, "Arn")] = table_arn(name)
        log(f"table {lid}: {name} (keys {[k['AttributeName'] for k in p['KeySchema']]}, GSIs {[g['IndexName'] for g in p.get('GlobalSecondaryIndexes', [])]})")

    def create_queue(self, lid, r):
        p = self.tpl.resolve(r.get("Properties", {}))
        name = p.get("QueueName") or f"{self.tpl.stack}-{lid}-{self.suffix}"
        attrs = {}
        for k in ["VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize", "ReceiveMessageWaitTimeSeconds"]:
            if k in p:
                attrs[k] = str(p[k])
        if "RedrivePolicy" in p:
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": p["RedrivePolicy"]["deadLetterTargetArn"], "maxReceiveCount": int(p["RedrivePolicy"]["maxReceiveCount"])})
        url = self.admin("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        self.tpl.refs[lid] = url
        self.tpl.atts[(lid, "Arn")] = queue_arn(url)
        self.tpl.atts[(lid, "QueueName")] = name
        log(f"queue {lid}: {name} {attrs}")

    def create_cognito(self, lid, r):
        p = self.tpl.resolve(r.get("Properties", {}))
        idp = self.admin("cognito-idp")
        if r["Type"] == "AWS::Cognito::UserPool":
            pool = idp.create_user_pool(PoolName=p.get("UserPoolName") or f"{self.tpl.stack}-{lid}")["UserPool"]
            self.tpl.refs[lid] = pool["Id"]
            self.tpl.atts[(lid, "Arn")] = pool["Arn"]
            self.user_pools.append(pool["Id"])
            log(f"user pool {lid}: {pool['Id']}")
        else:
            c = idp.create_user_pool_client(
                UserPoolId=p["UserPoolId"], ClientName=p.get("ClientName", lid), GenerateSecret=bool(p.get("GenerateSecret", False)), ExplicitAuthFlows=p.get("ExplicitAuthFlows", [])
            )["UserPoolClient"]
            self.tpl.refs[lid] = c["ClientId"]
            self.user_pool_clients.append(c["ClientId"])
            log(f"user pool client {lid}: {c['ClientId']} {p.get('ExplicitAuthFlows', [])}")

    def create_console_user(self, name, password):
        """A signed-in operator for the console (an administrator's admin-create-user and
        admin-set-user-password --permanent)."""
        idp = self.admin("cognito-idp")
        for pool in self.user_pools:
            idp.admin_create_user(UserPoolId=pool, Username=name, UserAttributes=[{"Name": "name", "Value": name}], MessageAction="SUPPRESS")
            idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=password, Permanent=True)
            log(f"console user {name!r} in {pool}")

    def authorizers(self):
        """JWT authorizers of the HTTP API: name -> (issuer, audiences)."""
        out = {}
        for lid, r in self.tpl.resources.items():
            if r["Type"] == "AWS::Serverless::HttpApi":
                auth = self.tpl.resolve((r.get("Properties") or {}).get("Auth") or {})
                for name, a in (auth.get("Authorizers") or {}).items():
                    jwt_cfg = a.get("JwtConfiguration") or {}
                    out[name] = (jwt_cfg.get("issuer"), list(jwt_cfg.get("audience") or []))
        return out

    def put_parameters(self, values):
        ssm = self.admin("ssm")
        for name, value in values.items():
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        log(f"{len(values)} SSM parameters (SecureString)")

    # ---------------------------------------------------------------- functions
    def create_functions(self):
        glob = self.tpl.doc.get("Globals", {}).get("Function", {})
        for lid, r in self.tpl.resources.items():
            if r["Type"] != "AWS::Serverless::Function":
                continue
            props = dict(glob)
            props.update(r["Properties"])
            env = dict((glob.get("Environment") or {}).get("Variables") or {})
            env.update((r["Properties"].get("Environment") or {}).get("Variables") or {})
            props = self.tpl.resolve(props)
            env = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.tpl.resolve(env).items()}
            # An AWS service endpoint a function is told about (the console's Cognito sign-in) is moto here.
            env = {k: (self.moto_endpoint.rstrip("/") + "/" if re.fullmatch(r"https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com/?", v) else v) for k, v in env.items()}
            binary = r["Metadata"]["BuildProperties"]["Binary"]
            statements = []
            for pol in props.get("Policies", []):
                if isinstance(pol, dict):
                    statements.extend(pol.get("Statement", []))
            fn = Function(self, lid, props, env, binary, Policy(statements))
            self.functions[lid] = fn
            self.by_key[fn.key_id] = fn
            self.tpl.refs[lid] = props.get("FunctionName", lid)

    def function_named(self, name):
        for fn in self.functions.values():
            if fn.binary == name or fn.lid == name or fn.name == name:
                return fn
        return None

    # ---------------------------------------------------------------- wiring
    def routes(self):
        out = []
        for fn in self.functions.values():
            for ev in fn.props.get("Events", {}).values():
                if ev.get("Type") == "HttpApi":
                    p = ev["Properties"]
                    authorizer = (p.get("Auth") or {}).get("Authorizer")
                    out.append((p.get("Method", "ANY").upper(), p["Path"], fn, p.get("PayloadFormatVersion", "2.0"), None if authorizer == "NONE" else authorizer))
        # As API Gateway: an exact route wins over a greedy {proxy+} one.
        out.sort(key=lambda r: "+}" in r[1])
        return out

    def schedules(self):
        out = []
        for fn in self.functions.values():
            for ev in fn.props.get("Events", {}).values():
                if ev.get("Type") == "Schedule" and ev["Properties"].get("Enabled", True):
                    out.append((fn, ev["Properties"]["Schedule"]))
        return out

    def event_source_mappings(self):
        out = []
        for lid, r in self.tpl.resources.items():
            if r["Type"] == "AWS::Lambda::EventSourceMapping":
                p = self.tpl.resolve(r["Properties"])
                if p.get("Enabled", True):
                    out.append(p)
        return out


class Function:
    """One function: its process, its Runtime API, its extension, its credentials."""

    def __init__(self, stack, lid, props, env, binary, policy):
        self.stack, self.lid, self.props, self.template_env, self.binary, self.policy = stack, lid, props, env, binary, policy
        self.name = props.get("FunctionName", lid)
        self.timeout = int(props.get("Timeout", 3))
        self.memory = int(props.get("MemorySize", 128))
        self.key_id = "AKIA" + hashlib.sha1(lid.encode()).hexdigest()[:16].upper()
        self.secret = uuid.uuid4().hex
        self.session = "offline-" + uuid.uuid4().hex
        self.has_extension = bool(props.get("Layers"))
        self.proc = None
        self.pending = queue.Queue()
        self.current = None  # (request id, event bytes, timing, result queue)
        self.invoke_lock = threading.Lock()
        self.ext_socket = reserve_port() if self.has_extension else None
        self.ext_port = self.ext_socket.getsockname()[1] if self.ext_socket else None
        self.ext_started = False
        self.init_error = None
        self.stats = {"invocations": 0, "errors": 0, "cold_starts": 0, "timeouts": 0, "max_rss_kb": 0, "killed": 0}
        self.api_port = serve(self.runtime_handler()).server_address[1]

    # -------- the Lambda Runtime API (2018-06-01)
    def runtime_handler(self):
        fn = self

        class H(Handler):
            def do_GET(self):
                if self.path.startswith("/2018-06-01/runtime/invocation/next"):
                    item = fn.pending.get()  # this instance's queue (a new one per cold start)
                    if item is None:
                        return self.reply(500, {"errorMessage": "shutting down"})
                    fn.current = item
                    rid, event, timing, _ = item
                    # The invoke phase starts now (init has its own limit, as in Lambda).
                    timing["started"] = time.time()
                    deadline = int((timing["started"] + fn.timeout) * 1000)
                    self.reply(200, event, {
                        "Lambda-Runtime-Aws-Request-Id": rid,
                        "Lambda-Runtime-Deadline-Ms": str(deadline),
                        "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn.name}",
                        "Lambda-Runtime-Trace-Id": "Root=1-" + uuid.uuid4().hex[:8] + "-" + uuid.uuid4().hex[:24],
                    })
                else:
                    self.reply(404, {"errorMessage": "not found"})

            def do_POST(self):
                body = self.body()
                m = re.match(r"^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$", self.path)
                if m:
                    cur = fn.current
                    if cur and cur[0] == m.group(1):
                        cur[3].put(("ok" if m.group(2) == "response" else "error", body))
                        fn.current = None
                    return self.reply(202, {"status": "OK"})
                if self.path == "/2018-06-01/runtime/init/error":
                    fn.init_error = body.decode("utf-8", "replace")
                    return self.reply(202, {"status": "OK"})
                self.reply(404, {"errorMessage": "not found"})

        return H

    # -------- the process
    def env(self):
        e = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "offline",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.api_port}",
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_SESSION_TOKEN": self.session,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_DYNAMODB": self.stack.proxy_url,
            "AWS_ENDPOINT_URL_SQS": self.stack.proxy_url,
            "AWS_ENDPOINT_URL_SSM": self.stack.proxy_url,
            "_HANDLER": self.props.get("Handler", "bootstrap"),
        }
        if self.props.get("LoggingConfig", {}).get("LogFormat") == "JSON":
            e["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            e["AWS_LAMBDA_LOG_LEVEL"] = "INFO"
        if self.has_extension:
            e["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(self.ext_port)
        e.update(self.template_env)
        return e

    def start(self):
        if self.stack.args.lambda_layout:
            path = os.path.join(self.stack.args.bin_dir, self.binary, "bootstrap")  # target/lambda/<name>/bootstrap
        else:
            path = os.path.join(self.stack.args.bin_dir, self.binary)
        logf = open(os.path.join(self.stack.logs, f"{self.binary}.log"), "ab")
        self.init_error = None
        # A new instance gets a new invocation queue; a `next` of the dead one still waiting is woken.
        self.pending.put(None)
        self.pending = queue.Queue()
        argv = self.stack.args.exec_prefix.split() + [path] if self.stack.args.exec_prefix else [path]
        self.proc = subprocess.Popen(argv, env=self.env(), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.stats["cold_starts"] += 1
        if self.has_extension and not self.ext_started:
            self.ext_started = True
            threading.Thread(target=self.start_extension, daemon=True).start()

    def log_tail(self, lines=3):
        try:
            with open(os.path.join(self.stack.logs, f"{self.binary}.log"), "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4096))
                return "\n".join(f.read().decode("utf-8", "replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
            self.stats["killed"] += 1
        # whatever was waiting for this instance fails
        cur = self.current
        if cur:
            cur[3].put(("error", json.dumps({"errorType": "Runtime.ExitError", "errorMessage": "RequestId: %s Error: Runtime exited" % cur[0]}).encode()))
            self.current = None

    def rss_kb(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except Exception:
            return 0
        return 0

    def invoke(self, event_bytes):
        """Runs one invocation; returns ("ok", payload) or ("error", payload)."""
        with self.invoke_lock:
            if not self.alive():
                self.start()
            rid = str(uuid.uuid4())
            timing = {"queued": time.time(), "started": None}
            result = queue.Queue()
            self.pending.put((rid, event_bytes, timing, result))
            self.stats["invocations"] += 1
            outcome = None
            while outcome is None:
                try:
                    outcome = result.get(timeout=0.05)
                except queue.Empty:
                    if not self.alive():
                        code = self.proc.returncode
                        self.drain_pending()
                        if self.init_error is None:
                            # What the runtime printed last is what CloudWatch would show.
                            self.init_error = self.log_tail() or f"Runtime exited with status {code}"
                        err = self.init_error
                        outcome = ("error", json.dumps({"errorType": "Runtime.ExitError", "errorMessage": err}).encode())
                    elif timing["started"] is None and time.time() > timing["queued"] + INIT_LIMIT:
                        self.stats["timeouts"] += 1
                        self.kill()
                        self.drain_pending()
                        outcome = ("error", json.dumps({"errorType": "Runtime.InitTimeout", "errorMessage": f"init did not finish in {INIT_LIMIT} s"}).encode())
                    elif timing["started"] is not None and time.time() > timing["started"] + self.timeout:
                        self.stats["timeouts"] += 1
                        self.kill()
                        self.drain_pending()
                        outcome = ("error", json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {self.timeout:.2f} seconds"}).encode())
            if self.alive():
                rss = self.rss_kb()
                self.stats["max_rss_kb"] = max(self.stats["max_rss_kb"], rss)
                if rss > self.memory * 1024:
                    log(f"{self.name}: {rss} KB over MemorySize {self.memory} MB: killed")
                    self.kill()
            if outcome[0] == "error":
                self.stats["errors"] += 1
            return outcome

    def drain_pending(self):
        while True:
            try:
                self.pending.get_nowait()
            except queue.Empty:
                break
        self.current = None

    # -------- the AWS Parameters and Secrets Lambda Extension
    def start_extension(self):
        delay = self.stack.args.extension_delay_ms / 1000.0
        if delay:
            time.sleep(delay)  # Lambda starts the runtime before the extension serves
        fn = self
        ssm = boto3.client("ssm", region_name=REGION, endpoint_url=self.stack.proxy_url, aws_access_key_id=self.key_id,
                           aws_secret_access_key=self.secret, aws_session_token=self.session,
                           config=botocore.config.Config(retries={"max_attempts": 1}))

        class H(Handler):
            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                if u.path != "/systemsmanager/parameters/get":
                    return self.reply(404, "not found", content_type="text/plain")
                if self.headers.get("X-Aws-Parameters-Secrets-Token") != fn.session:
                    return self.reply(401, "missing or wrong X-Aws-Parameters-Secrets-Token", content_type="text/plain")
                q = urllib.parse.parse_qs(u.query)
                name = (q.get("name") or [""])[0]
                try:
                    r = ssm.get_parameter(Name=name, WithDecryption=(q.get("withDecryption") or ["false"])[0] == "true")
                    p = r["Parameter"]
                    p["LastModifiedDate"] = str(p.get("LastModifiedDate", ""))
                    self.reply(200, {"Parameter": p, "ResultMetadata": {}})
                except ssm.exceptions.ParameterNotFound:
                    self.reply(400, f"parameter {name} not found", content_type="text/plain")
                except Exception as e:
                    self.reply(400, str(e).replace(fn.secret, "***"), content_type="text/plain")

        serve_on(self.ext_socket, H)


# ------------------------------------------------------------------------------------------------
# the IAM-enforcing AWS front


def aws_proxy(stack):
    class H(Handler):
        def do_POST(self):
            body = self.body()
            target = self.headers.get("x-amz-target", "")
            auth = self.headers.get("authorization", "")
            m = re.search(r"Credential=([^/]+)/", auth)
            key = m.group(1) if m else ""
            service, _, op = target.partition(".")
            service = {"DynamoDB_20120810": "dynamodb", "AmazonSQS": "sqs", "AmazonSSM": "ssm"}.get(service)
            if not service:
                return self.reply(400, {"__type": "UnknownOperationException", "message": f"offline stack: unsupported target {target!r}"})
            fn = stack.by_key.get(key)
            if fn is None:
                return self.reply(403, {"__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."}, content_type="application/x-amz-json-1.0")
            try:
                parsed = json.loads(body or b"{}")
            except ValueError:
                parsed = {}
            for action, resource in required_permissions(service, op, parsed):
                if not fn.policy.allows(action, resource):
                    msg = f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{fn.name}-role/{fn.name} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
                    with stack.lock:
                        stack.denials.append({"function": fn.binary, "action": action, "resource": resource})
                    log(f"AccessDenied: {fn.binary} {action} {resource}")
                    kind = "AccessDeniedException" if service != "sqs" else "AccessDenied"
                    return self.reply(400, {"__type": f"com.amazonaws.{service}#{kind}", "message": msg}, content_type="application/x-amz-json-1.0")
            backend = stack.ddb_endpoint if service == "dynamodb" else stack.moto_endpoint
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
            # Authorised here: the emulators see the admin's key (DynamoDB Local keeps one database
            # per access key; neither checks signatures).
            for k in list(headers):
                if k.lower() == "authorization":
                    headers[k] = headers[k].replace(f"Credential={key}/", "Credential=test/")
                if k.lower() == "x-amz-security-token":
                    del headers[k]
            req = urllib.request.Request(backend.rstrip("/") + self.path, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, rbody, rh = r.status, r.read(), r.headers
            except urllib.error.HTTPError as e:
                status, rbody, rh = e.code, e.read(), e.headers
            except Exception as e:
                return self.reply(503, {"__type": "ServiceUnavailable", "message": str(e)})
            passed = {k: v for k, v in rh.items() if k.lower() in ("content-type", "x-amzn-requestid", "x-amz-crc32", "x-amzn-query-error")}
            self.reply(status, rbody, passed, content_type=None)

        do_PUT = do_POST

        def do_GET(self):
            self.reply(200, {"offline": "aws front"})

    return H


# ------------------------------------------------------------------------------------------------
# the HTTP API ($default stage, payload format 2.0)

TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def is_text(ct):
    ct = (ct or "").split(";")[0].strip().lower()
    return ct.startswith(TEXT_TYPES) or ct.endswith("+json") or ct.endswith("+xml")


def verify_jwt(token, issuer, audiences):
    """The claims of a Cognito ID token issued by moto (its published signing key), or None."""
    try:
        import moto.cognitoidp
        from joserfc import jwt
        from joserfc.jwk import KeySet

        import gzip

        # moto signs every ID token with the key pair it ships (its public half, gzipped).
        with gzip.open(os.path.join(os.path.dirname(moto.cognitoidp.__file__), "resources", "jwks-public.json.gz")) as f:
            keys = KeySet.import_key_set(json.load(f))
        claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
    except Exception as e:
        log(f"JWT refused: {e.__class__.__name__}: {e}")
        return None
    aud = claims.get("aud") or claims.get("client_id")
    if claims.get("iss") != issuer or aud not in audiences or float(claims.get("exp", 0)) < time.time():
        log(f"JWT refused: iss {claims.get('iss')!r}, aud {aud!r}, exp {claims.get('exp')}")
        return None
    return claims


def http_api(stack):
    routes = []
    authorizers = stack.authorizers()
    for method, path, fn, version, authorizer in stack.routes():
        rx = re.escape(path)
        rx = re.sub(r"\\\{([A-Za-z0-9_]+)\\\+\\\}", r"(?P<\1>.+)", rx)
        rx = "^" + re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", rx) + "$"
        routes.append((method, path, re.compile(rx), fn, version, authorizer))

    class H(Handler):
        def handle_any(self):
            body = self.body()
            u = urllib.parse.urlsplit(self.path)
            raw_path, raw_query = u.path, u.query
            for method, path, rx, fn, version, authorizer in routes:
                m = rx.match(raw_path)
                if m and method in (self.command, "ANY"):
                    break
            else:
                return self.reply(404, {"message": "Not Found"})
            claims = None
            if authorizer:
                issuer, audiences = authorizers.get(authorizer, (None, []))
                token = (self.headers.get("authorization") or "").strip()
                token = token[7:].strip() if token.lower().startswith("bearer ") else token
                claims = verify_jwt(token, issuer, audiences) if token else None
                if claims is None:
                    return self.reply(401, {"message": "Unauthorized"})
            headers = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers[k] = headers[k] + "," + v if k in headers else v
            cookies = headers.pop("cookie", None)
            now = time.time()
            event = {
                "version": "2.0",
                "routeKey": f"{method} {path}",
                "rawPath": raw_path,
                "rawQueryString": raw_query,
                "headers": headers,
                "requestContext": {
                    "accountId": ACCOUNT,
                    "apiId": "offline",
                    "domainName": headers.get("host", "127.0.0.1"),
                    "domainPrefix": "offline",
                    "http": {"method": self.command, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": self.client_address[0], "userAgent": headers.get("user-agent", "")},
                    "requestId": uuid.uuid4().hex[:16],
                    "routeKey": f"{method} {path}",
                    "stage": "$default",
                    "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                    "timeEpoch": int(now * 1000),
                },
                "isBase64Encoded": False,
            }
            if claims is not None:
                event["requestContext"]["authorizer"] = {"jwt": {"claims": {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()}, "scopes": None}}
            if cookies:
                event["cookies"] = [c.strip() for c in cookies.split(";")]
            if raw_query:
                qs = {}
                for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
                    qs[k] = qs[k] + "," + v if k in qs else v
                event["queryStringParameters"] = qs
            if m.groupdict():
                event["pathParameters"] = m.groupdict()
            if body:
                if is_text(headers.get("content-type")):
                    event["body"] = body.decode("utf-8", "replace")
                else:
                    event["body"] = base64.b64encode(body).decode()
                    event["isBase64Encoded"] = True
            kind, payload = fn.invoke(json.dumps(event).encode())
            if kind != "ok":
                log(f"{fn.binary}: {payload[:300]!r}")
                return self.reply(500, {"message": "Internal Server Error"})
            try:
                out = json.loads(payload)
            except ValueError:
                return self.reply(500, {"message": "Internal Server Error"})
            if not isinstance(out, dict) or "statusCode" not in out:
                return self.reply(200, json.dumps(out))
            rbody = out.get("body") or ""
            rbody = base64.b64decode(rbody) if out.get("isBase64Encoded") else rbody.encode()
            # Payload v2: the function's Set-Cookie headers come back as the "cookies" list.
            self.reply(int(out["statusCode"]), rbody, out.get("headers") or {}, content_type=None, cookies=out.get("cookies") or [])

        do_POST = do_GET = do_PUT = do_DELETE = handle_any

    return H


# ------------------------------------------------------------------------------------------------
# the event source mapping and the schedule


def run_event_source(stack, mapping):
    fn = stack.function_named(mapping["FunctionName"])
    url = None
    for lid, r in stack.tpl.resources.items():
        if r["Type"] == "AWS::SQS::Queue" and stack.tpl.atts.get((lid, "Arn")) == mapping["EventSourceArn"]:
            url = stack.tpl.refs[lid]
    batch = int(mapping.get("BatchSize", 10))
    partial = "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", [])
    # Lambda polls with the function's execution role.
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=stack.proxy_url, aws_access_key_id=fn.key_id,
                       aws_secret_access_key=fn.secret, aws_session_token=fn.session)
    log(f"event source: {mapping['EventSourceArn']} -> {fn.binary} (batch {batch}, partial failures {partial})")
    while not stack.stopping:
        try:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(batch, 10), WaitTimeSeconds=1,
                                      AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        except Exception as e:
            log(f"event source receive failed: {e}")
            time.sleep(1)
            continue
        if not got:
            continue
        records = [{
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": mapping["EventSourceArn"],
            "awsRegion": REGION,
        } for m in got]
        kind, payload = fn.invoke(json.dumps({"Records": records}).encode())
        if kind != "ok":
            continue  # the whole batch comes back after its visibility timeout
        failed = set()
        if partial:
            try:
                resp = json.loads(payload or b"null") or {}
                failed = {f["itemIdentifier"] for f in resp.get("batchItemFailures", [])}
            except (ValueError, KeyError, TypeError):
                continue  # an unreadable answer fails the batch
        for m in got:
            if m["MessageId"] not in failed:
                try:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                except Exception as e:
                    log(f"event source delete failed: {e}")


def run_schedule(stack, fn, expr, every):
    log(f"schedule {expr} -> {fn.binary}, every {every} s offline")
    while not stack.stopping:
        time.sleep(every)
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": ACCOUNT, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": REGION, "resources": [], "detail": {}}
        fn.invoke(json.dumps(event).encode())


# ------------------------------------------------------------------------------------------------
# fake partner gateways


def top_sign(params, secret, method):
    items = sorted((k, v) for k, v in params.items() if k != "sign" and k.strip() and v.strip())
    data = "".join(k + v for k, v in items).encode()
    if method == "md5":
        return hashlib.md5(secret.encode() + data + secret.encode()).hexdigest().upper()
    digest = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(secret.encode(), data, digest).hexdigest().upper()


def fakes(stack, top_secret, fenbeitong_sign_key, fenbeitong_access_token):
    calls, decisions, script = [], [], []
    lock = threading.Lock()

    class H(Handler):
        def do_GET(self):
            if self.path.startswith("/top"):
                with lock:
                    return self.reply(200, list(calls))
            if self.path.startswith("/fenbeitong"):
                with lock:
                    return self.reply(200, list(decisions))
            self.reply(404, {})

        def do_POST(self):
            body = self.body()
            if self.path == "/top/script":
                # [{"method": m or null, "status": 200, "body": "...", "delay_ms": 0}, ...]
                with lock:
                    script.extend(json.loads(body))
                return self.reply(200, {"queued": len(script)})
            if self.path.startswith("/top"):
                return self.top(body)
            if self.path.startswith("/fenbeitong"):
                return self.fenbeitong(body)
            self.reply(404, {})

        def top(self, body):
            params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query, keep_blank_values=True))
            params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            method = params.get("method", "")
            ok = hmac.compare_digest(top_sign(params, top_secret, params.get("sign_method", "md5")), params.get("sign", ""))
            wrapper = method.replace("taobao.", "", 1).replace(".", "_") + "_response"
            scripted = None
            record = {"method": method, "params": params, "signature_ok": ok, "answer": None}
            with lock:
                for i, s in enumerate(script):
                    if ok and s.get("method") in (None, method):
                        scripted = script.pop(i)
                        break
                calls.append(record)  # recorded on arrival: a caller may die before the answer
            if not ok:
                status, answer = 200, json.dumps({"error_response": {"code": 25, "msg": "Invalid signature", "request_id": "fake"}})
            elif scripted:
                time.sleep(scripted.get("delay_ms", 0) / 1000.0)
                status, answer = scripted.get("status", 200), scripted.get("body", "")
            elif method == "alitrip.serve.workorder.relation":
                status, answer = 200, json.dumps({wrapper: {"result": True, "msg_info": "成功", "data": {"case_id": "FC" + str(random.randint(10**8, 10**9))}, "request_id": "fake"}}, ensure_ascii=False)
            else:
                status, answer = 200, json.dumps({wrapper: {"is_success": True, "request_id": "fake"}})
            with lock:
                record["answer"] = answer
            if status == 0:
                self.close_connection = True
                return self.reply(502, "")
            self.reply(status, answer)

        def fenbeitong(self, body):
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            expected = hashlib.md5(f"timestamp={form.get('timestamp', '')}&data={form.get('data', '')}&sign_key={fenbeitong_sign_key}".encode()).hexdigest()
            ok = hmac.compare_digest(expected, form.get("sign", "")) and form.get("access_token") == fenbeitong_access_token
            answer = {"request_id": "fake", "code": 0, "msg": "success", "data": {}} if ok else {"request_id": "fake", "code": 401, "msg": "sign or access_token invalid"}
            with lock:
                decisions.append({"path": urllib.parse.urlsplit(self.path).path[len("/fenbeitong"):], "params": form, "signature_ok": ok, "answer": json.dumps(answer)})
            self.reply(200, answer)

    return H


# ------------------------------------------------------------------------------------------------
# control: state, kill an instance, denials


def control(stack):
    class H(Handler):
        def do_GET(self):
            if self.path == "/denials":
                with stack.lock:
                    return self.reply(200, list(stack.denials))
            if self.path == "/functions":
                out = {}
                for fn in stack.functions.values():
                    out[fn.binary] = dict(fn.stats, name=fn.name, timeout=fn.timeout, memory_mb=fn.memory, running=fn.alive(),
                                          pid=fn.proc.pid if fn.alive() else None, rss_kb=fn.rss_kb() if fn.alive() else 0,
                                          init_error=fn.init_error, environment=sorted(fn.template_env))
                return self.reply(200, out)
            self.reply(404, {})

        def do_POST(self):
            m = re.match(r"^/kill/([A-Za-z0-9_-]+)$", self.path)
            if m:
                fn = stack.function_named(m.group(1))
                if not fn:
                    return self.reply(404, {"error": "no such function"})
                was = fn.alive()
                fn.kill()
                return self.reply(200, {"killed": was})
            self.reply(404, {})

    return H


# ------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--template", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--bin-dir", required=True, help="folder with one executable per function binary")
    ap.add_argument("--ddb-endpoint", required=True)
    ap.add_argument("--moto-endpoint", required=True, help="moto: SQS and SSM")
    ap.add_argument("--param", action="append", default=[], help="template parameter NAME=VALUE ({fakes} is the fake gateways' base URL)")
    ap.add_argument("--ssm", action="append", default=[], help="SSM parameter NAME=VALUE to create (values never printed)")
    ap.add_argument("--sweep-every", type=float, default=5.0, help="seconds between scheduled invocations (the template's rate, faster)")
    ap.add_argument("--extension-delay-ms", type=int, default=0, help="the secrets extension starts serving this long after its function")
    ap.add_argument("--top-secret", required=True)
    ap.add_argument("--fenbeitong-sign-key", required=True)
    ap.add_argument("--fenbeitong-access-token", required=True)
    ap.add_argument("--console-user", default="console-tester", help="a console operator created in the user pool")
    ap.add_argument("--console-password", default="", help="its password (default: generated, written to stack.env)")
    ap.add_argument("--lambda-layout", action="store_true", help="binaries as cargo-lambda writes them: BIN_DIR/<name>/bootstrap")
    ap.add_argument("--exec-prefix", default="", help="command that runs each binary (e.g. qemu-aarch64 -L /usr/aarch64-linux-gnu)")
    args = ap.parse_args()
    # The fake gateways' port is taken before the template's parameters (which name it) are read.
    fakes_socket = reserve_port()
    fakes_url = f"http://127.0.0.1:{fakes_socket.getsockname()[1]}"
    args.param = [p.replace("{fakes}", fakes_url) for p in args.param]

    stack = Stack(args)
    proxy = serve(aws_proxy(stack))
    stack.proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    serve_on(fakes_socket, fakes(stack, args.top_secret, args.fenbeitong_sign_key, args.fenbeitong_access_token))
    stack.fakes_url = fakes_url

    stack.create_resources()
    console_password = args.console_password or ("Bg-" + "".join(random.choice(string.ascii_letters + string.digits) for _ in range(16)) + "9a")
    if stack.user_pools:
        stack.create_console_user(args.console_user, console_password)
    stack.put_parameters(dict(s.split("=", 1) for s in args.ssm))
    stack.create_functions()
    api = serve(http_api(stack))
    ctl = serve(control(stack))
    for mapping in stack.event_source_mappings():
        threading.Thread(target=run_event_source, args=(stack, mapping), daemon=True).start()
    for fn, expr in stack.schedules():
        threading.Thread(target=run_schedule, args=(stack, fn, expr, args.sweep_every), daemon=True).start()

    tpl = stack.tpl
    table = next(tpl.refs[l] for l, r in tpl.resources.items() if r["Type"] == "AWS::DynamoDB::Table")
    lines = {
        "BUSGATE_BASE_URL": f"http://127.0.0.1:{api.server_address[1]}",
        "BUSGATE_FAKE_TOP_URL": f"{stack.fakes_url}/top",
        "BUSGATE_FAKE_FENBEITONG_URL": f"{stack.fakes_url}/fenbeitong",
        "BUSGATE_STACK_CONTROL_URL": f"http://127.0.0.1:{ctl.server_address[1]}",
        "BUSGATE_TABLE": table,
        "BUSGATE_QUEUE_URL": tpl.refs["OutboxQueue"],
        "BUSGATE_DLQ_URL": tpl.refs["OutboxDlq"],
        "BUSGATE_TARGET": "aws",
        "BUSGATE_CONSOLE_URL": f"http://127.0.0.1:{api.server_address[1]}/console/sign-in",
        "BUSGATE_CONSOLE_USER": args.console_user if stack.user_pools else "",
        "BUSGATE_CONSOLE_PASSWORD": console_password if stack.user_pools else "",
        "BUSGATE_CONSOLE_CLIENT_ID": stack.user_pool_clients[0] if stack.user_pool_clients else "",
        "BUSGATE_COGNITO_URL": args.moto_endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB": args.ddb_endpoint,
        "AWS_ENDPOINT_URL_SQS": args.moto_endpoint,
        "AWS_ENDPOINT_URL_SSM": args.moto_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    tmp = os.path.join(args.state_dir, "stack.env.tmp")
    with open(tmp, "w") as f:
        for k, v in lines.items():
            f.write(f"{k}={v}\n")
    os.replace(tmp, os.path.join(args.state_dir, "stack.env"))
    log(f"ready: {len(stack.functions)} functions, {len(stack.routes())} routes, API {lines['BUSGATE_BASE_URL']}")

    done = threading.Event()

    def stop(*_):
        stack.stopping = True
        for fn in stack.functions.values():
            fn.kill()
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    done.wait()
    log("stopped")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:
        traceback.print_exc()
        sys.exit(1)
