// SPDX-License-Identifier: MPL-2.0
// A JeroMQ (ZMTP 2.0) peer driven by line commands on stdin, one answer line
// each on stdout, so that one JVM serves a whole group of test cases
// (jeromq_interop.py). Frames are hex, "-" for an empty frame.
//
//   socket NAME TYPE           TYPE: PAIR PUB SUB REQ REP DEALER ROUTER PULL PUSH XPUB XSUB
//   identity NAME HEX          before connect/bind
//   bind NAME tcp://HOST:PORT  PORT *: a free port; answers "ok ENDPOINT"
//   connect NAME ENDPOINT
//   subscribe NAME HEX
//   send NAME FRAME...
//   recv NAME                  answers "msg FRAME..." or "timeout" (after 10 s)
//   close NAME
//   quit
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.zeromq.ZMQ;

public class JeromqPeer {
    private static final String[] TYPES = {
        "PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB"};

    private static byte[] unhex(String s) {
        if (s.equals("-"))
            return new byte[0];
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; ++i)
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    private static String hex(byte[] b) {
        if (b.length == 0)
            return "-";
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b)
            sb.append(String.format("%02x", x & 0xff));
        return sb.toString();
    }

    private static int typeOf(String name) {
        for (int i = 0; i < TYPES.length; ++i)
            if (TYPES[i].equals(name))
                return i; // JeroMQ's constants are libzmq's: ZMQ.PAIR = 0 ...
        throw new IllegalArgumentException("unknown type " + name);
    }

    public static void main(String[] args) throws Exception {
        ZMQ.Context ctx = ZMQ.context(1);
        Map<String, ZMQ.Socket> sockets = new HashMap<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split(" ");
            String answer = "ok";
            try {
                ZMQ.Socket s = w.length > 1 ? sockets.get(w[1]) : null;
                switch (w[0]) {
                case "socket":
                    s = ctx.socket(typeOf(w[2]));
                    s.setLinger(2000);
                    s.setReceiveTimeOut(10000);
                    sockets.put(w[1], s);
                    break;
                case "identity":
                    s.setIdentity(unhex(w[2]));
                    break;
                case "bind":
                    // JeroMQ 0.3.6 cannot bind port 0 and say which port it
                    // got: its "*" takes a free dynamic port, which
                    // ZMQ_LAST_ENDPOINT (32) then names.
                    s.bind(w[2]);
                    answer = "ok " + s.base().getsockoptx(32);
                    break;
                case "connect":
                    s.connect(w[2]);
                    break;
                case "subscribe":
                    s.subscribe(unhex(w.length > 2 ? w[2] : "-"));
                    break;
                case "send":
                    for (int i = 2; i < w.length; ++i)
                        s.send(unhex(w[i]), i + 1 < w.length ? ZMQ.SNDMORE : 0);
                    break;
                case "recv": {
                    List<String> frames = new ArrayList<>();
                    byte[] f = s.recv(0);
                    if (f == null) {
                        answer = "timeout";
                        break;
                    }
                    frames.add(hex(f));
                    while (s.hasReceiveMore())
                        frames.add(hex(s.recv(0)));
                    answer = "msg " + String.join(" ", frames);
                    break;
                }
                case "close":
                    s.close();
                    sockets.remove(w[1]);
                    break;
                case "quit":
                    for (ZMQ.Socket x : sockets.values())
                        x.close();
                    ctx.term();
                    System.out.println("ok");
                    System.out.flush();
                    return;
                default:
                    answer = "error unknown command " + w[0];
                }
            } catch (Exception e) {
                answer = "error " + e;
            }
            System.out.println(answer);
            System.out.flush();
        }
    }
}
