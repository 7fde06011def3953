#if os(Linux)
    import Foundation
    import Synchronization

    /// Persistent worker threads for `Parallel.forParts`.
    ///
    /// A forward pass opens hundreds of short parallel regions (each matrix product, each
    /// attention layer, each row kernel), many of them 100–500 µs long. Waking a parked
    /// Dispatch worker costs about 45 µs on Linux, which made a two-thread region of 100 µs
    /// take 140 µs. Here the workers spin for a short while after each region, so the next
    /// one starts within a microsecond, and park on a condition variable when the engine goes
    /// quiet, so an idle process uses no CPU.
    ///
    /// One region runs at a time. A caller that finds the pool busy (another thread's region,
    /// or a region opened inside a region) gets `false` and runs its work some other way.
    package final class WorkerPool: @unchecked Sendable {
        package static let shared = WorkerPool()

        /// The current region in one word: generation (bits 40…), number of parts (bits 20…39)
        /// and next unclaimed part (bits 0…19). A worker learns everything about a region from
        /// one load of it, so nothing it reads can belong to another region.
        private let ticket = Atomic<Int>(0)
        private let finished = Atomic<Int>(0)
        private let busy = Atomic<Bool>(false)
        private let sleepers = Atomic<Int>(0)
        private let parking = NSCondition()
        // Written by the region's caller before `ticket` publishes it, read by a worker only
        // after it has claimed a part of that region (so the caller is still waiting).
        private var body: ((Int) -> Void)?
        private var workers = 0

        private static let partBits = 20
        private static let partMask = (1 << partBits) - 1
        private static let generationShift = 2 * partBits
        private static let generationMask = (1 << 23) - 1

        private static func generation(_ ticket: Int) -> Int { (ticket >> generationShift) & generationMask }
        /// How long a worker spins for the next region before it parks: 200 µs, or none when
        /// the threads outnumber the cores (a spinning worker would take a core from one that
        /// has work; measured on 2 cores with 4 threads: 40 % slower with spinning).
        private let spinNanoseconds = Atomic<Int>(200_000)
        private static let cores = ProcessInfo.processInfo.activeProcessorCount

        /// Runs `body(p)` for p in 0..<count on the caller and up to `threads − 1` workers;
        /// returns when all parts are done. `false` (nothing run) when the pool is busy.
        package func run(_ count: Int, threads: Int, _ body: (Int) -> Void) -> Bool {
            guard count > 0, count <= Self.partMask else { return false }
            guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
            else { return false }
            defer { busy.store(false, ordering: .releasing) }
            startWorkers(upTo: threads - 1)
            spinNanoseconds.store(threads > Self.cores ? 0 : 200_000, ordering: .relaxed)
            withoutActuallyEscaping(body) { escaping in
                self.body = escaping
                finished.store(0, ordering: .relaxed)
                let generation = (Self.generation(ticket.load(ordering: .relaxed)) + 1) & Self.generationMask
                ticket.store(
                    generation << Self.generationShift | count << Self.partBits,
                    ordering: .sequentiallyConsistent)
                if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                    parking.lock()
                    parking.broadcast()
                    parking.unlock()
                }
                var done = work(generation: generation)
                done = finished.add(done, ordering: .acquiringAndReleasing).newValue
                var spins = 0
                while done < count {
                    done = finished.load(ordering: .acquiring)
                    spins += 1
                    // Past a few microseconds, let a worker that waits for this core run.
                    if spins > 4096 { sched_yield() }
                }
                self.body = nil
            }
            return true
        }

        /// Claims and runs parts of `generation` until none is left; returns how many it ran.
        private func work(generation: Int) -> Int {
            var ran = 0
            var current = ticket.load(ordering: .acquiring)
            while Self.generation(current) == generation {
                let part = current & Self.partMask
                guard part < (current >> Self.partBits) & Self.partMask else { break }
                let claim = ticket.compareExchange(
                    expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
                if claim.exchanged {
                    body!(part)
                    ran += 1
                    current = current + 1
                } else {
                    current = claim.original
                }
            }
            return ran
        }

        private func startWorkers(upTo n: Int) {
            while workers < n {
                workers += 1
                let thread = Thread { [unowned self] in self.workerLoop() }
                thread.name = "paraformer-worker-\(workers)"
                thread.start()
            }
        }

        private func workerLoop() {
            var seen = Self.generation(ticket.load(ordering: .acquiring))
            while true {
                let generation = waitForRegion(after: seen)
                seen = generation
                let ran = work(generation: generation)
                if ran > 0 { finished.add(ran, ordering: .releasing) }
            }
        }

        /// Spins until a region newer than `seen` is published, parking after a while.
        private func waitForRegion(after seen: Int) -> Int {
            var spins = 0
            var deadline: UInt64 = 0
            while true {
                let generation = Self.generation(ticket.load(ordering: .acquiring))
                if generation != seen { return generation }
                spins += 1
                if spins & 1023 != 0 { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if deadline == 0 {
                    deadline = now + UInt64(spinNanoseconds.load(ordering: .relaxed))
                } else if now > deadline {
                    parking.lock()
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while Self.generation(ticket.load(ordering: .sequentiallyConsistent)) == seen {
                        parking.wait()
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    parking.unlock()
                    deadline = 0
                }
            }
        }
    }
#endif
