import ArgumentParser
import LayerStore

@main
struct LayerStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "layerstore", abstract: "LayerStore")
}
