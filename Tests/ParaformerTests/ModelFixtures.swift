import Foundation

/// The committed model fixtures (Tests/ParaformerTests/Fixtures/model, made by
/// Tools/gen_model_fixtures.py): random-weight models, their audio and FunASR's outputs.
enum ModelFixtures {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/model/\(name)", withExtension: nil)!.path
    }
}
