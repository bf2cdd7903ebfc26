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


def config(args):
    servers = []
    if args.turn:
        servers.append(RTCIceServer(urls=args.turn, username="lab", credential="labpass"))
    policy = RTCIceTransportPolicy.RELAY if args.relay else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


async def run(args):
    pc = RTCPeerConnection(config(args))
    pc.addTrack(AudioStreamTrack())
    received = {"frames": 0}

    @pc.on("track")
    def on_track(track):
        async def drain():
            try:
                while True:
                    await track.recv()
                    received["frames"] += 1
            except Exception:
                pass
        asyncio.ensure_future(drain())

    loop = asyncio.get_event_loop()
    host, port = args.signal.rsplit(":", 1)
    if args.role == "answer":
        srv = socket.create_server((host, int(port)))
        srv.settimeout(60)
        conn, _ = await loop.run_in_executor(None, srv.accept)
        f = conn.makefile("rw")
        offer = json.loads(await loop.run_in_executor(None, f.readline))
        await pc.setRemoteDescription(RTCSessionDescription(**offer))
        await pc.setLocalDescription(await pc.createAnswer())
        f.write(json.dumps({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}) + "\n")
        f.flush()
    else:
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
        await pc.setLocalDescription(await pc.createOffer())
        f.write(json.dumps({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}) + "\n")
        f.flush()
        answer = json.loads(await loop.run_in_executor(None, f.readline))
        await pc.setRemoteDescription(RTCSessionDescription(**answer))
    t0 = time.time()
    while pc.connectionState != "connected" and time.time() - t0 < 20:
        await asyncio.sleep(0.05)
    state = pc.connectionState
    await asyncio.sleep(args.duration)
    pair = None
    try:
        ice = pc.getTransceivers()[0].sender.transport.transport
        p = ice.iceTransport._connection._nominated.get(1)
        if p is not None:
            pair = {"local": p.local_candidate.type, "remote": p.remote_candidate.type}
    except Exception:
        pass
    await pc.close()
    conn.close()
    print(json.dumps({"role": "aiortc-" + args.role, "connected": state == "connected",
                      "audio_frames_received": received["frames"], "pair": pair,
                      "turn": args.turn, "relay_only": args.relay}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["offer", "answer"])
    ap.add_argument("--signal", required=True, help="IP:PORT of the answerer's signalling socket")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--turn")
    ap.add_argument("--relay", action="store_true")
    args = ap.parse_args()
    asyncio.run(run(args))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
