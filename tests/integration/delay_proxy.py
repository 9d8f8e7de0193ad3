"""A TCP delay proxy for tests and benchmarks: every chunk is delivered
`delay` seconds after it arrived (order kept per direction), so a Redis on
loopback behaves as one a network hop away. hold()/release() stop and resume
everything the client sends (a Redis that answers nothing). Runs an asyncio
loop in a thread; the test or bench that starts it stops it.

    python3 delay_proxy.py TARGET_PORT DELAY_MS    (prints "port N", runs until killed)

asyncio's timers have about a millisecond's resolution under load: the
added delay is at least DELAY_MS each way, often a little more."""
import asyncio
import sys
import threading


class DelayProxy:
    """A TCP proxy on loopback run by an asyncio loop in a thread. Each chunk
    is delivered `delay` seconds after it arrived (order kept per direction).
    hold() keeps everything the node sends from reaching Redis until release();
    `commands` counts EVALSHA/EVAL calls the node sent, `plain_gets` its GETs
    (they are whole words of RESP, split at most across two reads, so the
    counts tolerate splits)."""

    def __init__(self, target_port, delay=0.0005):
        self.target_port = target_port
        self.delay = delay
        self.loop = asyncio.new_event_loop()
        self.open = None
        self.port = None
        self.commands = 0
        self.plain_gets = 0
        self.lock = threading.Lock()
        self.writers = []
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.open = asyncio.Event()
        self.open.set()
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()
        server.close()

    async def _client(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer, count=True, gated=True),
                             self._pipe(up_reader, writer), return_exceptions=True)
        for w in (writer, up_writer):
            w.close()

    async def _pipe(self, reader, writer, count=False, gated=False):
        queue = asyncio.Queue()

        async def deliver():
            while True:
                arrived, data = await queue.get()
                if data is None:
                    writer.close()
                    return
                wait = arrived + self.delay - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if gated:
                    await self.open.wait()
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        tail = b""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if count:
                    seen = tail + data
                    n = seen.count(b"EVALSHA") + seen.count(b"\r\nEVAL\r\n")
                    n -= tail.count(b"EVALSHA") + tail.count(b"\r\nEVAL\r\n")
                    g = seen.count(b"\r\nGET\r\n") - tail.count(b"\r\nGET\r\n")
                    tail = seen[-16:]
                    with self.lock:
                        self.commands += n
                        self.plain_gets += g
                await queue.put((self.loop.time(), data))
        except (ConnectionError, OSError):
            pass
        await queue.put((0, None))
        await sender

    def hold(self):
        self.loop.call_soon_threadsafe(self.open.clear)

    def release(self):
        self.loop.call_soon_threadsafe(self.open.set)

    def evals(self):
        with self.lock:
            return self.commands

    def gets(self):
        """GET commands the node sent (a grant check of a signed method)."""
        with self.lock:
            return self.plain_gets

    def close(self):
        def stop():
            self.open.set()
            for w in self.writers:
                w.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(stop)
        self.thread.join(10)




if __name__ == "__main__":
    proxy = DelayProxy(int(sys.argv[1]), float(sys.argv[2]) / 1000.0)
    print("port %d" % proxy.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        proxy.close()
