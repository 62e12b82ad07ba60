#!/usr/bin/env python3
"""A TCP proxy on loopback that delays every byte the upstream (Redis) sends back by the number
of milliseconds in a control file, re-read every 50 ms: a slow Redis, without touching Redis.
Requests go upstream at once; replies keep their order.

    delay_proxy.py LISTEN_PORT UPSTREAM_PORT CONTROL_FILE

Binds 127.0.0.1 only. Stops on SIGTERM or when its parent's script kills it by PID."""

import asyncio
import sys
import time

LISTEN, UPSTREAM, CONTROL = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
delay_s = 0.0


async def watch_control():
    global delay_s
    while True:
        try:
            with open(CONTROL) as f:
                delay_s = float(f.read().strip() or 0) / 1000.0
        except (OSError, ValueError):
            pass
        await asyncio.sleep(0.05)


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def delayed_pipe(reader, writer):
    """Each chunk is written `delay_s` after it arrived, in order."""
    queue = asyncio.Queue()

    async def release():
        try:
            while (item := await queue.get()) is not None:
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    releaser = asyncio.create_task(release())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay_s, data))
    except ConnectionError:
        pass
    queue.put_nowait(None)
    await releaser


async def handle(client_reader, client_writer):
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", UPSTREAM)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(
        pipe(client_reader, up_writer), delayed_pipe(up_reader, client_writer)
    )


async def main():
    asyncio.create_task(watch_control())
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    async with server:
        await server.serve_forever()


asyncio.run(main())
