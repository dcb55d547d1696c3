#!/usr/bin/env node
// SPDX-License-Identifier: MPL-2.0
// A libzmq 4.3.5 (zeromq.js, with its draft API) peer for zmtp-spec in
// test/interop/zmtp_spec_conformance.py and zmtp_spec_drafts.py:
// zmtp-spec's cases drop and break connections, so every send error is
// ignored and the socket goes on serving.
//
//   node spec_peer.js TYPE bind|connect ENDPOINT
//
// TYPE and what it does, as the catalogue's `libzmq` notes expect:
//   rep, router, dealer, pair, server, client   echo what arrives (server: to
//                                               the routing id it came from)
//   scatter   sends "A-news" and "B-weather" every 20 ms
//   gather    takes messages
//   radio     sends "news" to group "A", "extra" to "AB", "weather" to "B"
//             every 20 ms
//   dish      joins "A" and takes messages
// A bind prints {"bound": ENDPOINT} first. A connect makes a new socket
// each time its connection ends, as libzmq does not reconnect after a
// refused handshake (and the old one does not reconnect: its interval is
// long).
'use strict'
const zmq = require('zeromq')
const draft = require('zeromq/draft')
const [type, how, endpoint] = process.argv.slice(2)
const classes = {
  rep: zmq.Reply,
  router: zmq.Router,
  dealer: zmq.Dealer,
  pair: zmq.Pair,
  server: draft.Server,
  client: draft.Client,
  scatter: draft.Scatter,
  gather: draft.Gather,
  radio: draft.Radio,
  dish: draft.Dish
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function behave (s) {
  if (type === 'dish') s.join('A')
  while (!s.closed) {
    try {
      if (type === 'scatter') {
        for (const m of ['A-news', 'B-weather']) await s.send(m)
        await sleep(20)
      } else if (type === 'radio') {
        for (const [group, m] of [['A', 'news'], ['AB', 'extra'], ['B', 'weather']]) await s.send(m, { group })
        await sleep(20)
      } else if (type === 'server') {
        const [m, { routingId }] = await s.receive()
        await s.send(m, { routingId })
      } else if (type === 'gather' || type === 'dish') {
        await s.receive()
      } else {
        await s.send(await s.receive())
      }
    } catch (e) {
      await sleep(5) // a send that would block, or the socket closed
    }
  }
}

async function main () {
  // sendTimeout 0: a SCATTER with no peer fails at once instead of waiting.
  const options = type === 'scatter' ? { linger: 0, sendTimeout: 0 } : { linger: 0 }
  if (how === 'bind') {
    const s = new classes[type](options)
    await s.bind(endpoint)
    process.stdout.write(JSON.stringify({ bound: s.lastEndpoint }) + '\n')
    return behave(s)
  }
  for (;;) {
    const s = new classes[type]({ ...options, reconnectInterval: 60000 })
    const ended = new Promise((resolve) => {
      for (const e of ['disconnect', 'handshake:error:protocol', 'handshake:error:auth', 'handshake:error:other']) {
        s.events.on(e, resolve)
      }
    })
    s.connect(endpoint)
    behave(s)
    await ended
    s.close()
    await sleep(20)
  }
}
main()
