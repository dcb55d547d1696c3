#!/usr/bin/env node
// SPDX-License-Identifier: MPL-2.0
// A ws:// peer for test/interop/ws_interop.py, from zeromq.js (libzmq 4.3.5)
// or jszmq (pure JavaScript ZWS 2.0).
//
//   node ws_peer.js LIB TYPE bind|connect ENDPOINT MODE [N [TOPIC [OPTIONS]]]
//
// LIB zeromq or jszmq; TYPE push, pull, pub, sub, req, rep, dealer, router,
// pair. A bind prints {"bound": ENDPOINT} first. Messages are JSON arrays
// of strings, one a line. MODE:
//   recv       print the first N messages received, then exit
//   send       send each stdin line; req: print each reply
//   echo       send every message received straight back
//   publish    send ["a-topic","x"] and ["b-topic","y"] every 50 ms
//   ask        (dealer, req) send ["hello"] every 100 ms until a reply
//              comes, print it, exit
// A SUB subscribes to TOPIC (default: everything). OPTIONS (zeromq only): a
// JSON object of socket options set before bind or connect, e.g.
// {"curveServer": true, ...} or {"heartbeatInterval": 50}.
'use strict'
const [lib, type, how, endpoint, mode, count, topic, options] = process.argv.slice(2)
const print = (frames) => process.stdout.write(JSON.stringify(frames.map((f) => f.toString())) + '\n')
const done = () => setTimeout(() => process.exit(0), 100)
const lines = (onLine, onEnd) => {
  let rest = ''
  process.stdin.on('data', (d) => {
    rest += d.toString()
    let i
    while ((i = rest.indexOf('\n')) >= 0) {
      onLine(JSON.parse(rest.slice(0, i)))
      rest = rest.slice(i + 1)
    }
  })
  process.stdin.on('end', onEnd)
}
const capitalised = type.charAt(0).toUpperCase() + type.slice(1)
// zeromq.js 6 names some classes in full; jszmq as libzmq does.
const longNames = { req: 'Request', rep: 'Reply', pub: 'Publisher', sub: 'Subscriber' }
const name = lib === 'zeromq' ? (longNames[type] || capitalised) : capitalised

async function withZeromq () {
  const zmq = require('zeromq')
  const s = new zmq[name]()
  Object.assign(s, JSON.parse(options || '{}'))
  if (type === 'sub') s.subscribe(topic || '')
  if (how === 'bind') {
    await s.bind(endpoint)
    process.stdout.write(JSON.stringify({ bound: s.lastEndpoint }) + '\n')
  } else {
    s.connect(endpoint)
  }
  if (mode === 'recv') {
    let n = Number(count)
    for await (const m of s) {
      print(m)
      if (--n === 0) return done()
    }
  } else if (mode === 'echo') {
    for await (const m of s) await s.send(m)
  } else if (mode === 'publish') {
    setInterval(() => { s.send(['a-topic', 'x']); s.send(['b-topic', 'y']) }, 50)
  } else if (mode === 'ask') {
    const timer = setInterval(() => s.send(['hello']).catch(() => {}), 100)
    const reply = await s.receive()
    clearInterval(timer)
    print(reply)
    done()
  } else if (mode === 'send') {
    const queue = []
    let ended = false
    let wake = null
    lines((m) => { queue.push(m); if (wake) wake() }, () => { ended = true; if (wake) wake() })
    for (;;) {
      if (queue.length === 0) {
        if (ended) break
        await new Promise((resolve) => { wake = resolve })
        wake = null
        continue
      }
      await s.send(queue.shift())
      if (type === 'req') print(await s.receive())
    }
    s.linger = 2000
    s.close()
  }
}

function withJszmq () {
  const zmq = require('jszmq')
  const s = new zmq[name]()
  if (type === 'sub') s.subscribe(topic || '')
  s.connect(endpoint)
  if (mode === 'recv') {
    let n = Number(count)
    s.on('message', (...frames) => { print(frames); if (--n === 0) done() })
  } else if (mode === 'echo') {
    s.on('message', (...frames) => s.send(frames))
  } else if (mode === 'ask') {
    const timer = setInterval(() => s.send(['hello']), 100)
    s.once('message', (...frames) => { clearInterval(timer); print(frames); done() })
  } else if (mode === 'send') {
    // jszmq queues on a connecting endpoint only once it has one: give it time to attach.
    const queue = []
    lines((m) => queue.push(m), () => setTimeout(() => {
      for (const m of queue) s.send(m)
      setTimeout(() => process.exit(0), 500)
    }, 300))
  }
}

if (lib === 'zeromq') {
  withZeromq().catch((e) => { console.error(e); process.exit(1) })
} else {
  withJszmq()
}
