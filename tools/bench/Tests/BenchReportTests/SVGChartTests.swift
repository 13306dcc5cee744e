//! The chart is well-formed XML, shows one bar per measured peer and headline metric, and
//! orients every bar so that right of 1× means LayerStore is better.

import BenchReport
import Foundation
import Testing

@Test func chartIsValidXMLWithOrientedBars() throws {
    let r = run([("layerstore", "layer", "read1.ops", [3e6]), ("lmdb", "layer", "read1.ops", [1.5e6]),
                 ("layerstore", "layer", "commit.p50_us", [400]), ("sqlite", "layer", "commit.p50_us", [200]),
                 ("layerstore", "layer", "open.ms", [0.2]), ("rocksdb", "layer", "open.ms", [20])])
    let bars = SVGChart.bars(r)
    #expect(bars.count == 3)
    #expect(bars.first { $0.peer == "lmdb" }?.advantage == 2)      // twice the reads
    #expect(bars.first { $0.peer == "sqlite" }?.advantage == 0.5)  // twice the latency: worse
    #expect(bars.first { $0.peer == "rocksdb" }?.advantage == 100) // a hundredth of the open time
    let svg = SVGChart.render(r)
    #if canImport(FoundationXML)
    let parser = XMLParser(data: Data(svg.utf8))
    #expect(parser.parse(), "the SVG must be well-formed XML: \(String(describing: parser.parserError))")
    #endif
    #expect(svg.hasPrefix("<?xml"))
    #expect(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""))
}

@Test func escapingKeepsXMLValid() {
    #expect(SVGChart.escape("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;")
}

#if canImport(FoundationXML)
import FoundationXML
#endif
