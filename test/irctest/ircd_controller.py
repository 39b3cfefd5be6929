"""irctest controller for this project's IRC daemon ("ircd").

irctest (https://github.com/progval/irctest) imports this module by name
(``--controller ircd_controller``, with this folder on PYTHONPATH) and calls
``get_irctest_controller_class()``.  For every test the controller writes an
``ircd.toml`` (plus a ``motd.txt``) into a fresh temporary directory, starts
``node <project root>/dist/src/main.js --config <tmpdir>/ircd.toml`` in the
foreground and waits until the listening port answers.

The daemon must have been built first (``npm run build``); ``npm run
irctest`` does that and then runs ``test/irctest/run.sh``.

The feature attributes (``capabilities``, ``optional_behaviors``,
``supported_sasl_mechanisms``, ``isupport``, ``extban_mute_char``) are kept
empty on purpose: irctest FAILS a test for a listed capability or behaviour the
server lacks, so entries are added here as the matching features land.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path
import atexit
import shutil
import signal
import socket
import subprocess
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple, Type, Union

from irctest import patma
from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

# test/irctest/ircd_controller.py -> the project root is two folders up.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAEMON_ENTRY = PROJECT_ROOT / "dist" / "src" / "main.js"

SERVER_NAME = "My.Little.Server"  # irctest expects this exact name
# What irctest's services controllers (atheme_services) call themselves and send as link password.
SERVICES_NAME = "My.Little.Services"
SERVICES_PASSWORD = "password"
LOOPBACK = "127.0.0.1"
OPER_PASSWORD = "operpassword"  # irctest's OPER operuser operpassword
CONFIG_FILE = "ircd.toml"
MOTD_FILE = "motd.txt"

# Password hashes understood by the daemon's [[allow]] password field.
SCRYPT_N = 16384
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 64
SCRYPT_SALT_BYTES = 16


def hash_password(password: str) -> str:
    """``$scrypt$N=16384,r=8,p=1$<salt b64>$<hash b64>`` (standard base64, padded)."""
    salt = os.urandom(SCRYPT_SALT_BYTES)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=SCRYPT_DKLEN,
        # 128 * N * r = 16 MiB are needed; leave headroom over OpenSSL's default.
        maxmem=64 * 1024 * 1024,
    )
    return "$scrypt$N={},r={},p={}${}${}".format(
        SCRYPT_N,
        SCRYPT_R,
        SCRYPT_P,
        base64.b64encode(salt).decode("ascii"),
        base64.b64encode(digest).decode("ascii"),
    )


def toml_value(value: Any) -> str:
    """Renders a Python scalar as a TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes, incl. \uXXXX).
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot render {value!r} as TOML")


def toml_table(header: str, entries: Dict[str, Any]) -> str:
    lines = [header]
    lines.extend(f"{key} = {toml_value(value)}" for key, value in entries.items())
    return "\n".join(lines) + "\n"


def render_config(
    *,
    hostname: str,
    port: int,
    password_hash: Optional[str],
    tls: Optional[Dict[str, str]],
    register_before_connect: bool = False,
    websocket: Optional[Dict[str, Any]] = None,
    services_port: Optional[int] = None,
) -> str:
    """Builds the daemon's TOML config for one irctest run.

    The schema is strict (unknown keys are errors), so only known keys are
    written.  One [[oper]] block (operuser / operpassword) lets the OPER,
    KILL and WALLOPS tests op up.
    """
    listen: Dict[str, Any] = {"address": hostname, "port": port}
    if tls is not None:
        listen["tls"] = tls

    allow: Dict[str, Any] = {"mask": "*", "class": "default"}
    if password_hash is not None:
        allow["password"] = password_hash

    server: Dict[str, Any] = {
        "name": SERVER_NAME,
        "network": "testnet",
        # irctest's LINKS test expects this server info ("0 test server").
        "description": "test server",
        "motd": MOTD_FILE,
        "casemapping": "rfc1459",
    }
    # With --services-controller (Atheme), the services link to a servers listener and the
    # daemon's own accounts and NickServ are off: SASL is relayed to the services' SaslServ.
    external_services: List[str] = []
    if services_port is not None:
        server["sid"] = "42X"
        external_services = [
            toml_table("[[listen]]", {"address": LOOPBACK, "port": services_port, "servers": True}),
            toml_table(
                "[[link]]",
                {
                    "name": SERVICES_NAME,
                    "address": LOOPBACK,
                    "send_password": SERVICES_PASSWORD,
                    "accept_password": hash_password(SERVICES_PASSWORD),
                },
            ),
            toml_table("[services]", {"enabled": False, "servers": [SERVICES_NAME]}),
        ]

    sections = [
        toml_table("[server]", server),
        toml_table("[[listen]]", listen),
        *external_services,
        *([toml_table("[[listen]]", {**websocket, "websocket": True})] if websocket else []),
        toml_table("[limits]", {"nicklen": 30}),
        # Generous limits: irctest opens many connections from 127.0.0.1 in
        # quick succession and sends bursts of commands.
        toml_table(
            "[[class]]",
            {
                "name": "default",
                "sendq": 1048576,
                "recvq": 65536,
                "ping_interval": 120,
                "ping_timeout": 60,
                "registration_timeout": 60,
                "max_per_ip": 1000,
                "connect_rate": {"count": 100000, "seconds": 1},
                "flood": {"burst": 1000, "rate": 1000},
            },
        ),
        toml_table("[[allow]]", allow),
        toml_table("[log]", {"level": os.environ.get("IRCD_LOG_LEVEL", "warn")}),
        # irctest opers up with OPER operuser operpassword.
        toml_table(
            "[[oper_class]]",
            # No server notices: irctest counts every line an oper receives.
            {
                "name": "irctest",
                "privileges": ["kill", "ban", "rehash", "die", "wallops", "see_hidden", "override"],
                "snomask": "",
            },
        ),
        toml_table(
            "[[oper]]",
            {"name": "operuser", "password": hash_password(OPER_PASSWORD), "hosts": ["*@*"], "class": "irctest"},
        ),
        # Accounts for the services tests: irctest's passwords are short ("bar")
        # or long (592 bytes), many accounts come from 127.0.0.1, and failed
        # logins are part of the tests, so the limits are loose.
        toml_table(
            "[accounts]",
            {
                "enabled": services_port is None,
                "register_before_connect": register_before_connect,
                "password_min_length": 1,
                "password_max_length": 1024,
                "register_per_ip": 100000,
                "nick_reservation": "off",
            },
        ),
        toml_table(
            "[sasl]",
            {
                "failures_per_ip": 100000,
                "failures_per_account": 100000,
                **({"mechanisms": ["PLAIN"]} if services_port is not None else {}),
            },
        ),
        # LINKS shown to opers only. irctest's services LINKS test expects services
        # to be a second, linked server; ours are built in, so listing this server
        # alone fails it, while an empty list (hidden topology) is accepted by both
        # LINKS tests. docs/conformance.md says so.
        toml_table("[stats]", {"links_public": False}),
    ]
    return "# Generated by test/irctest/ircd_controller.py for one irctest run.\n\n" + "\n".join(
        sections
    )


class IrcdController(BaseServerController, DirectoryBasedController):
    software_name = "ircd"
    supports_sts = False
    _port_wait_interval = 0.02  # node starts quickly; don't sleep 100 ms per poll

    # Filled in as features land (listed-but-missing ones FAIL instead of skipping).
    supported_sasl_mechanisms: Set[str] = {"PLAIN", "SCRAM-SHA-256"}
    capabilities: FrozenSet[Capabilities] = frozenset(
        {
            Capabilities.MULTILINE,
            # [history] enabled defaults to true (draft/chathistory itself is no enum member).
            Capabilities.MESSAGE_REDACTION,
            Capabilities.READ_MARKER,
        }
    )
    optional_behaviors: FrozenSet[OptionalBehaviors] = frozenset(
        {
            # [metadata] before_connect defaults to true.
            OptionalBehaviors.METADATA_BEFORE_CONNECT,
            # KICK #chan a,b and KICK #a,#b x,y (TARGMAX KICK:<max_targets>).
            OptionalBehaviors.MULTI_KICK,
            # Channel mode +C.
            OptionalBehaviors.NO_CTCP,
        }
    )
    # What the daemon advertises with the config render_config() writes
    # (isupport.py::testValues checks each).
    isupport: Dict[str, Union[str, patma.Operator, None]] = {
        "ACCOUNTEXTBAN": "a",
        "AWAYLEN": "390",
        "BOT": "B",
        "CASEMAPPING": "rfc1459",
        "CHANLIMIT": "#:50",
        "CHANMODES": "beI,k,fl,CMUimnpstu",
        "CHANNELLEN": "64",
        "CHANTYPES": "#",
        "ELIST": "CMNTU",
        "EXCEPTS": "e",
        "EXTBAN": "$,am",
        "HOSTLEN": "64",
        "INVEX": "I",
        "KEYLEN": "23",
        "KICKLEN": "390",
        "LINELEN": "512",
        "MAXLIST": "beI:100",
        "MAXTARGETS": "4",
        "MODES": "6",
        "MONITOR": "100",
        "NETWORK": "testnet",
        "NICKLEN": "30",
        "PREFIX": "(ov)@+",
        "STATUSMSG": "@+",
        "TARGMAX": patma.StrRe(r"PRIVMSG:4,NOTICE:4,TAGMSG:4,JOIN:,PART:,.*KICK:4.*"),
        "TOPICLEN": "390",
        "USERLEN": "10",
        "UTF8ONLY": None,
        "WHOX": None,
    }
    # EXTBAN=$,am: a mute is +b $m:<mask>.
    extban_mute_char: Optional[str] = "m"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if hasattr(self, "services_controller_class"):
            # SASL goes to the linked services' SaslServ: irctest's Atheme offers PLAIN (no SCRAM).
            self.supported_sasl_mechanisms = {"PLAIN"}

    def get_hostname_and_port(self) -> Tuple[str, int]:
        """A free loopback port, kept apart from other workers' as irctest does.

        irctest looks for a free port by binding ("", 0), so every server under test would be
        configured to listen on all interfaces; this daemon under test listens on 127.0.0.1.
        """
        with self._used_ports() as used_ports:
            while True:
                probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                probe.bind((LOOPBACK, 0))
                port = probe.getsockname()[1]
                probe.close()
                if (LOOPBACK, port) not in used_ports:
                    break
            used_ports.add((LOOPBACK, port))
            self._own_ports.add((LOOPBACK, port))
        return (LOOPBACK, port)

    def create_config(self) -> None:
        super().create_config()
        with self.open_file(CONFIG_FILE):
            pass

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str] = None,
        websocket_port: Optional[int] = None,
    ) -> None:
        if not DAEMON_ENTRY.is_file():
            raise FileNotFoundError(
                f"{DAEMON_ENTRY} does not exist: build the daemon first "
                f"(`npm run build` in {PROJECT_ROOT})"
            )
        assert self.proc is None
        if self.test_config.account_registration_requires_email:
            # The daemon has no mail transport and refuses accounts.email_required.
            raise NotImplementedByController("account registration requiring an email")
        self.port = port
        self.hostname = hostname
        self.create_config()
        assert self.directory

        tls: Optional[Dict[str, str]] = None
        if ssl:
            self.gen_ssl()  # self-signed ssl.pem / ssl.key in the temp directory
            tls = {"cert": str(self.pem_path), "key": str(self.key_path)}

        with self.open_file(MOTD_FILE, "w") as fd:
            fd.write("Welcome to the irctest run of ircd.\n")

        # irctest's --services-controller sets services_controller_class: those services link here.
        external_services = run_services and hasattr(self, "services_controller_class")
        services_port: Optional[int] = None
        if external_services:
            services_port = self.get_hostname_and_port()[1]

        with self.open_file(CONFIG_FILE, "w") as fd:
            fd.write(
                render_config(
                    services_port=services_port,
                    hostname=hostname,
                    port=port,
                    password_hash=hash_password(password) if password is not None else None,
                    tls=tls,
                    register_before_connect=self.test_config.account_registration_before_connect,
                    websocket=(
                        {"address": websocket_hostname or hostname, "port": websocket_port}
                        if websocket_port is not None
                        else None
                    ),
                )
            )

        # Like the other controllers: without the faketime binary the server runs
        # on real time and faketime_enabled stays False (tests check it).
        faketime_cmd: List[str] = []
        if faketime and shutil.which("faketime"):
            faketime_cmd = ["faketime", "-f", faketime]
            self.faketime_enabled = True

        self.proc = self.execute(
            [
                *faketime_cmd,
                "node",
                DAEMON_ENTRY,
                "--config",
                self.directory / CONFIG_FILE,
            ],
            proc_name="ircd",
        )
        _live_procs.add(self.proc)
        # Services are built into the daemon (no separate services process), so
        # run_services needs nothing extra here unless irctest runs its own; see registerUser().
        try:
            self.wait_for_port()
        except BaseException:
            # setUp fails, so tearDown (and kill()) will not run: stop it here.
            self.kill_proc()
            raise
        if external_services:
            assert services_port is not None
            self.services_controller = self.services_controller_class(self.test_config, self)
            self.services_controller.run(protocol="charybdis", server_hostname=hostname, server_port=services_port)

    def kill_proc(self) -> None:
        proc = self.proc
        super().kill_proc()
        _live_procs.discard(proc)  # type: ignore[arg-type]
        # Under faketime the daemon is a child of the wrapper irctest waited for: wait for
        # the whole process group, or irctest removes the temp directory while the daemon
        # is still closing its database (rmtree then trips over the vanishing -wal file).
        assert proc is not None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(0.02)

    def wait_for_services(self) -> None:
        if self.services_controller is not None:
            return super().wait_for_services()
        # No separate services process: the daemon itself is the services.
        self.wait_for_port()

    def registerUser(
        self,
        case: Any,
        username: str,
        password: Optional[str] = None,
    ) -> None:
        if self.services_controller is not None:
            # Accounts are the linked services' (NickServ REGISTER).
            return super().registerUser(case, username, password)
        # Written straight into the daemon's store with its own CLI (the
        # password goes on stdin); the running daemon reads accounts from there.
        assert self.directory
        subprocess.run(
            ["node", str(DAEMON_ENTRY), "account", "create", username,
             "--config", str(self.directory / CONFIG_FILE)],
            input=(password or "").encode("utf-8"),
            check=True,
            capture_output=True,
        )


# Daemons started by this worker process.  unittest skips tearDown() when
# setUp() raises after run() (e.g. BotModeTestCase.setUp skips when 005 has no
# BOT token), so irctest never kills those daemons; they are killed here when
# the worker exits instead of lingering as orphans.
_live_procs: Set[subprocess.Popen] = set()


@atexit.register
def _kill_leftover_daemons() -> None:
    for proc in list(_live_procs):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                proc.kill()
    _live_procs.clear()


def get_irctest_controller_class() -> Type[IrcdController]:
    return IrcdController
