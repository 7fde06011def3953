import Foundation

/// Reusable scratch arenas, so that repeated calls allocate nothing once warmed up. A
/// workspace is used by one call at a time: `take` hands it out, `put` takes it back.
/// Unchecked: `free` is touched only under `lock`, and a workspace in the list is used by
/// no one (Workspace itself is not Sendable: the caller that took it owns it until `put`).
package final class WorkspacePool: @unchecked Sendable {
    private var free: [Workspace] = []
    private let lock = NSLock()

    package init() {}

    package func take() -> Workspace {
        lock.lock()
        defer { lock.unlock() }
        return free.popLast() ?? Workspace()
    }

    package func put(_ ws: Workspace) {
        ws.reset()
        lock.lock()
        free.append(ws)
        lock.unlock()
    }
}
