import ArgumentParser
import Foundation
import Paraformer
import ParaformerCore

/// Options of the VAD alone and of the VAD → ASR pipeline.
struct PipelineArguments: ParsableArguments {
    @Option(help: ArgumentHelp(
        "FSMN-VAD model (.gguf): cut the audio into speech segments and transcribe each (FunASR's AutoModel(model, vad_model)); files are read and decoded incrementally, in bounded memory.",
        valueName: "path"))
    var vadModel: String?

    @Option(help: ArgumentHelp(
        "CT-Transformer punctuation model (.gguf) applied to the joined transcript (needs --vad-model).",
        valueName: "path"))
    var puncModel: String?

    @Option(help: ArgumentHelp(
        "FunASR's max_end_silence_time in ms: the silence that ends a segment. Giving it turns off FunASR 1.4.16's dynamic silence schedule (the default).",
        valueName: "ms"))
    var maxEndSilenceTime: Int?

    @Flag(help: "Add FunASR's sentence_info (text, start, end per sentence) to --json output.")
    var sentenceInfo = false

    @Option(help: ArgumentHelp(
        "Output of the pipeline: text (key<TAB>text), json (one object per file), srt or vtt (subtitles: one cue per sentence, or per segment without punctuation).",
        valueName: "format"))
    var outputFormat: OutputFormat?

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json, srt, vtt }

    mutating func validate() throws {
        if let m = maxEndSilenceTime, m < 0 || m > 10_000_000 {
            throw ValidationError("--max-end-silence-time must be between 0 and 10000000 ms (got \(m)).")
        }
        if puncModel != nil && vadModel == nil {
            throw ValidationError("--punc-model needs --vad-model (the pipeline).")
        }
    }

    var vadOptions: VADOptions { VADOptions(maxEndSilenceTime: maxEndSilenceTime) }
}

/// `general.architecture` of a model file, or nil if it cannot be read.
func modelArchitecture(_ path: String) -> String? {
    (try? GGUFFile(path: path))?.metadata["general.architecture"]?.stringValue
}

/// VAD alone (`--model VAD.gguf`): FunASR's `{"key", "value": [[start_ms, end_ms], ...]}` per file.
/// - Returns: the number of files that failed.
func runVAD(model: String, files: [String], options: VADOptions, timings: Bool) throws -> Int {
    let vad = try loadOrExit { try VoiceActivityDetector(modelPath: model) }
    var failed = 0
    let clock = ContinuousClock()
    for path in files {
        do {
            let audio = try AudioDecoder.load(contentsOf: URL(fileURLWithPath: path))
            let t0 = clock.now
            let c0 = PipelineTimings.threadCPUTime()
            let segments = try vad.detect(samples: audio.samples, sampleRate: audio.sampleRate, options: options)
            let cpu = PipelineTimings.threadCPUTime() - c0
            let seconds = (clock.now - t0).secondsValue
            let value = segments.map { "[\($0.startMs),\($0.endMs)]" }.joined(separator: ",")
            emit("{\"key\":\(jsonString(utteranceKey(path))),\"value\":[\(value)]}")
            if timings {
                printError(String(format: "%@: audio %.2f s, VAD %.1f ms wall, %.1f ms CPU: %.0fx real time (CPU)", utteranceKey(path),
                                  audio.duration, seconds * 1000, cpu * 1000, audio.duration / max(cpu, 1e-9)))
            }
        } catch {
            printError("error: \(path): \(error)")
            failed += 1
        }
    }
    return failed
}

/// The pipeline (`--vad-model`): per file, FunASR's `{"key", "text", "timestamp"}` (or text,
/// srt, vtt), decoded segment by segment as the file is read.
func runPipeline(args: Arguments, model: String, pipeline p: PipelineArguments, recognizerOptions: RecognizerOptions) throws -> Int {
    let pipeline = try loadOrExit {
        try SpeechPipeline(
            modelPath: model, vadModelPath: p.vadModel!, puncModelPath: p.puncModel,
            recognizerOptions: recognizerOptions, options: PipelineOptions(vad: p.vadOptions))
    }
    let format = p.outputFormat ?? (args.json ? .json : .text)
    var failed = 0
    let clock = ContinuousClock()
    for path in args.files {
        let key = utteranceKey(path)
        do {
            let t0 = clock.now
            var lastReport = 0.0
            var vadFree = 0.0
            let result = try pipeline.transcribe(file: URL(fileURLWithPath: path), channel: recognizerOptions.channel, progress: { read, total in
                // Progress for long files (over 10 minutes), every 5 minutes of audio.
                guard total > 600 || read > 600, read - lastReport >= 300 else { return }
                lastReport = read
                let elapsed = (clock.now - t0).secondsValue
                printError(String(format: "%@: %.1f / %.1f min of audio, RTF %.3f", key, read / 60, total / 60, elapsed / max(read, 1e-9)))
            })
            vadFree = (clock.now - t0).secondsValue
            switch format {
            case .text: emit("\(key)\t\(result.text)")
            case .json: emit(pipelineJSONLine(key: key, result, sentenceInfo: p.sentenceInfo))
            case .srt: emit(subtitles(result.sentences, vtt: false), terminator: "")
            case .vtt: emit(subtitles(result.sentences, vtt: true), terminator: "")
            }
            if args.timings {
                let t = result.timings
                let hours = max(result.duration, 1e-9) / 3600
                printError(String(format: "%@: audio %.2f s, %d segments, wall %.3f s (RTF %.4f); CPU per audio hour: read %.1f s, VAD %.1f s, ASR %.1f s, punctuation %.1f s",
                                  key, result.duration, result.segments.count, vadFree, vadFree / max(result.duration, 1e-9),
                                  t.read / hours, t.vad / hours, t.asr / hours, t.punctuation / hours))
            }
        } catch {
            printError("error: \(path): \(error)")
            failed += 1
        }
    }
    return failed
}

/// FunASR's result object of the pipeline: key, text, timestamp (and sentence_info on request).
func pipelineJSONLine(key: String, _ r: PipelineResult, sentenceInfo: Bool) -> String {
    func spans(_ t: [[Int]]) -> String { "[" + t.map { "[\($0[0]),\($0[1])]" }.joined(separator: ",") + "]" }
    var line = "{\"key\":\(jsonString(key)),\"text\":\(jsonString(r.text)),\"timestamp\":\(spans(r.timestamps))"
    if sentenceInfo {
        let items = r.sentences.map {
            "{\"text\":\(jsonString($0.text)),\"start\":\($0.startMs),\"end\":\($0.endMs),\"timestamp\":\(spans($0.timestamps))}"
        }
        line += ",\"sentence_info\":[" + items.joined(separator: ",") + "]"
    }
    return line + "}"
}

/// SubRip (`00:00:01,234`) or WebVTT (`00:00:01.234`, with its header) cues, one per sentence.
func subtitles(_ sentences: [Sentence], vtt: Bool) -> String {
    func time(_ ms: Int) -> String {
        let ms = max(ms, 0)
        return String(format: "%02d:%02d:%02d%@%03d", ms / 3_600_000, ms / 60000 % 60, ms / 1000 % 60, vtt ? "." : ",", ms % 1000)
    }
    var out = vtt ? "WEBVTT\n\n" : ""
    for (i, s) in sentences.enumerated() {
        if !vtt { out += "\(i + 1)\n" }
        out += "\(time(s.startMs)) --> \(time(s.endMs))\n\(s.text)\n\n"
    }
    return out
}
