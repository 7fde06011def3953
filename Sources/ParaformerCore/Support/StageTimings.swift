/// Wall-clock seconds spent in each stage of one recognition.
public struct StageTimings: Sendable, Codable, Equatable {
    public var frontend: Double = 0
    public var encoder: Double = 0
    public var predictor: Double = 0
    public var decoder: Double = 0
    public var total: Double { frontend + encoder + predictor + decoder }
    public init() {}
}

extension Duration {
    /// The duration in seconds.
    package var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
