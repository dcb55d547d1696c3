// SPDX-License-Identifier: MPL-2.0
// The libzmq 4.3.5 (draft API) end of test/interop/draft_interop.py, over
// the npm zeromq 6.8.0 binding. One process serves every case: each stdin
// line is a JSON request {"case", "type", "bind" | "connect"}; the socket is
// made, bound or connected, and does what its type does in the test:
//
//   server   echoes every message back to its sender's routing id
//   client   sends "c1" "c2" "c3", then reports the three replies
//   gather   reports the first three messages
//   scatter  sends "s1" "s2" "s3"
//   dish     joins "g", reports the first two messages with their groups
//   radio    sends "tick" to group "g" and "other" to group "h" every 20 ms
//
// It answers each request with {"case", "endpoint"} once bound or
// connected, and later with {"case", "got": [...]} or {"case", "error"}.
// {"case", "close": true} closes that case's socket. stdin closing ends it.
"use strict";

const zmq = require("zeromq");
const draft = require("zeromq/draft");
const readline = require("readline");

const sockets = new Map();

function say(obj) {
    process.stdout.write(JSON.stringify(obj) + "\n");
}

async function take(sock, n, show) {
    const got = [];
    while (got.length < n)
        got.push(show(await sock.receive()));
    return got;
}

const behaviours = {
    server: async (s) => {
        for (;;) {
            const [msg, { routingId }] = await s.receive();
            await s.send(msg, { routingId });
        }
    },
    client: async (s) => {
        for (const m of ["c1", "c2", "c3"])
            await s.send(m);
        return take(s, 3, ([m]) => m.toString());
    },
    gather: async (s) => take(s, 3, ([m]) => m.toString()),
    scatter: async (s) => {
        for (const m of ["s1", "s2", "s3"])
            await s.send(m);
        return null;
    },
    dish: async (s) => {
        s.join("g");
        return take(s, 2, ([m, { group }]) => group.toString() + "\t" + m.toString());
    },
    radio: async (s) => {
        for (;;) {
            await s.send("tick", { group: "g" });
            await s.send("other", { group: "h" });
            await new Promise((r) => setTimeout(r, 20));
        }
    },
};

const classes = {
    server: draft.Server, client: draft.Client, gather: draft.Gather,
    scatter: draft.Scatter, dish: draft.Dish, radio: draft.Radio,
};

async function serve(req) {
    const sock = new classes[req.type]({ linger: 0 });
    sockets.set(req.case, sock);
    if (req.bind) {
        await sock.bind(req.bind);
        say({ case: req.case, endpoint: sock.lastEndpoint });
    } else {
        sock.connect(req.connect);
        say({ case: req.case, endpoint: req.connect });
    }
    const got = await behaviours[req.type](sock);
    if (got !== null)
        say({ case: req.case, got });
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
    const req = JSON.parse(line);
    if (req.close) {
        const s = sockets.get(req.case);
        sockets.delete(req.case);
        if (s)
            s.close();
        return;
    }
    serve(req).catch((e) => {
        if (!sockets.has(req.case) || sockets.get(req.case).closed)
            return; // closed by request: its pending operation fails
        say({ case: req.case, error: String(e) });
    });
}).on("close", () => {
    for (const s of sockets.values())
        s.close();
    process.exit(0);
});
