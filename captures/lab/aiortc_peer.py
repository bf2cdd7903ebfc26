#!/usr/bin/env python3
"""A real WebRTC audio call between two aiortc (PyPI) peers, for the lab (issue 11).

Roles: `answer` waits for an offer on a TCP signalling socket (one JSON line each way: the SDP
offer, the SDP answer); `offer` connects, sends its offer, applies the answer. Both send an
audio track (aiortc's AudioStreamTrack: 20 ms Opus frames of silence, which Opus still sends as
packets at 50/s) for --duration seconds, then close. ICE, DTLS-SRTP and SRTP are aiortc's own.
`--turn turn:IP:PORT?transport=udp|tcp` with `--relay` forces relayed candidates (coturn).
Prints one JSON line with what it did (the lab puts it in the truth file's peer_logs).
"""
import argparse
import asyncio
import json
import socket
import sys
import time

from aiortc import (AudioStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection,
                    RTCSessionDescription)
from aiortc.rtcconfiguration import RTCIceTransportPolicy


def config(turn, relay):
    servers = []
    if turn:
        servers.append(RTCIceServer(urls=turn, username="lab", credential="labpass"))
    policy = RTCIceTransportPolicy.RELAY if relay else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


def new_pc(turn, relay, received):
    pc = RTCPeerConnection(config(turn, relay))
    pc.addTrack(AudioStreamTrack())

    @pc.on("track")
    def on_track(track):
        async def drain():
            try:
                while True:
                    await track.recv()
                    received["frames"] += 1
                    received["last"] = time.time()
            except Exception:
                pass
        asyncio.ensure_future(drain())
    return pc


def nominated(pc):
    try:
        ice = pc.getTransceivers()[0].sender.transport.transport
        p = ice.iceTransport._connection._nominated.get(1)
        if p is not None:
            return {"local": p.local_candidate.type, "remote": p.remote_candidate.type,
                    "transport": p.local_candidate.transport}
    except Exception:
        pass
    return None


async def connected(pc):
    t0 = time.time()
    while pc.connectionState != "connected" and time.time() - t0 < 20:
        await asyncio.sleep(0.05)
    return pc.connectionState == "connected"


async def answer(args, loop, host, port):
    """Answers --legs offers in turn: a new offer (the caller's new call leg) replaces the current
    peer connection; after the last one, --duration seconds of media, then close."""
    srv = socket.create_server((host, int(port)))
    srv.settimeout(60)
    received = {"frames": 0, "last": None}
    pc, legs, conns = None, [], []
    for _ in range(args.legs):
        conn, _ = await loop.run_in_executor(None, srv.accept)
        conns.append(conn)
        f = conn.makefile("rw")
        offer = json.loads(await loop.run_in_executor(None, f.readline))
        if pc is not None:
            await pc.close()
        pc = new_pc(args.turn, args.relay, received)
        await pc.setRemoteDescription(RTCSessionDescription(**offer))
        await pc.setLocalDescription(await pc.createAnswer())
        f.write(json.dumps({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}) + "\n")
        f.flush()
        ok = await connected(pc)
        legs.append({"connected": ok, "pair": nominated(pc)})
    await asyncio.sleep(args.duration)
    await pc.close()
    for c in conns:
        c.close()
    return legs, received


async def offer_leg(args, loop, host, port, turn, relay, received):
    deadline = time.time() + 30
    while True:
        try:
            conn = socket.create_connection((host, int(port)), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                raise
            await asyncio.sleep(0.2)
    f = conn.makefile("rw")
    pc = new_pc(turn, relay, received)
    await pc.setLocalDescription(await pc.createOffer())
    f.write(json.dumps({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}) + "\n")
    f.flush()
    answer = json.loads(await loop.run_in_executor(None, f.readline))
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    ok = await connected(pc)
    return pc, conn, ok


async def offer(args, loop, host, port):
    """One call leg; with --fallback-turn, the caller watches its incoming audio and, once none has
    arrived for --stall seconds, hangs that leg up and calls again through the fallback TURN server
    with relayed candidates only (aiortc has no ICE restart: a new leg is what the app can do)."""
    received = {"frames": 0, "last": None}
    pc, conn, ok = await offer_leg(args, loop, host, port, args.turn, args.relay, received)
    legs = [{"connected": ok, "pair": nominated(pc), "turn": args.turn}]
    if args.fallback_turn:
        t0 = time.time()
        while time.time() - t0 < 60:
            await asyncio.sleep(0.1)
            last = received["last"] or t0
            if time.time() - last > args.stall:
                break
        legs[0]["stalled_after_frames"] = received["frames"]
        legs[0]["stall_detected_at"] = time.time()
        await pc.close()
        conn.close()
        pc, conn, ok = await offer_leg(args, loop, host, port, args.fallback_turn, True, received)
        legs.append({"connected": ok, "pair": nominated(pc), "turn": args.fallback_turn})
    await asyncio.sleep(args.duration)
    await pc.close()
    conn.close()
    return legs, received


async def run(args):
    loop = asyncio.get_event_loop()
    host, port = args.signal.rsplit(":", 1)
    if args.role == "answer":
        legs, received = await answer(args, loop, host, port)
    else:
        legs, received = await offer(args, loop, host, port)
    print(json.dumps({"role": "aiortc-" + args.role, "connected": all(l["connected"] for l in legs),
                      "audio_frames_received": received["frames"], "pair": legs[-1]["pair"],
                      "legs": legs, "turn": args.turn, "relay_only": args.relay}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["offer", "answer"])
    ap.add_argument("--signal", required=True, help="IP:PORT of the answerer's signalling socket")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--turn")
    ap.add_argument("--relay", action="store_true")
    ap.add_argument("--legs", type=int, default=1, help="answer: how many offers (call legs) to take")
    ap.add_argument("--fallback-turn", help="offer: TURN URL of a new leg once incoming audio stalls")
    ap.add_argument("--stall", type=float, default=2.0, help="offer: seconds without audio that end a leg")
    args = ap.parse_args()
    asyncio.run(run(args))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
