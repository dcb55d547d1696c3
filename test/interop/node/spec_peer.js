#!/usr/bin/env node
// SPDX-License-Identifier: MPL-2.0
// A libzmq 4.3.5 (zeromq.js) peer for test/interop/zmtp_spec_conformance.py
// over ws://: zmtp-spec's cases drop and break connections, so every send
// error is ignored and the socket goes on serving.
//
//   node spec_peer.js TYPE bind|connect ENDPOINT
//
// TYPE rep, router, dealer, pair: echo what arrives. A bind prints
// {"bound": ENDPOINT} first.
'use strict'
const zmq = require('zeromq')
const [type, how, endpoint] = process.argv.slice(2)
const names = { rep: 'Reply', router: 'Router', dealer: 'Dealer', pair: 'Pair' }

async function main () {
  const s = new zmq[names[type]]()
  if (how === 'bind') {
    await s.bind(endpoint)
    process.stdout.write(JSON.stringify({ bound: s.lastEndpoint }) + '\n')
  } else {
    s.connect(endpoint)
  }
  for (;;) {
    try {
      const m = await s.receive()
      await s.send(m)
    } catch (e) {}
  }
}
main()
