// The agent graph: a D3 force layout of the agents (colour = status, label =
// name and type) and their links (communication, coordination, dependency;
// width = message count; hover for latency). React renders the frame and
// the legend; D3 owns the <svg> contents, joined by id so that positions
// survive updates and agents that appear, change state or stop animate
// instead of jumping. Each topology pulls the nodes to its own shape
// (lib/graph.ts layoutTargets), so a ring looks like a ring.
import { useEffect, useMemo, useRef, useState } from 'react';
import * as d3 from 'd3';
import {
  detectTopology,
  graphLinks,
  graphNodes,
  layoutTargets,
  meanLatency,
  type AgentStatus,
  type GraphLink,
  type GraphModel,
  type GraphNode,
  type LinkType,
} from '../../lib/graph';
import { formatDuration } from '../../lib/format';
import { LINK_COLOR, STATUS_COLOR, linkPath, linkWidth, nodeRadius } from './geometry';
import './AgentGraph.css';

export interface AgentGraphProps {
  model: GraphModel;
  selectedAgent: string | null;
  /** The agent of the selected event, highlighted more softly. */
  eventAgent?: string | null;
  loading?: boolean;
  onSelectAgent: (id: string | null) => void;
}

/** A node as the simulation sees it: model data plus mutable position. */
interface SimNode extends d3.SimulationNodeDatum {
  id: string;
  data: GraphNode;
  r: number;
  tx: number;
  ty: number;
}
interface SimLink extends d3.SimulationLinkDatum<SimNode> {
  key: string;
  data: GraphLink;
}

const STATUSES: AgentStatus[] = ['active', 'busy', 'idle', 'error'];
const LINK_TYPES: LinkType[] = ['communication', 'coordination', 'dependency'];
const MS = 450;
const FADE_MS = 200;

export function AgentGraph({ model, selectedAgent, eventAgent = null, loading = false, onSelectAgent }: AgentGraphProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const sim = useRef<d3.Simulation<SimNode, SimLink> | null>(null);
  const simNodes = useRef(new Map<string, SimNode>());
  const lastShape = useRef('');
  const zoomRef = useRef<d3.ZoomBehavior<SVGSVGElement, unknown> | null>(null);
  const onSelect = useRef(onSelectAgent);
  onSelect.current = onSelectAgent;
  const [size, setSize] = useState({ w: 640, h: 420 });
  const [tip, setTip] = useState<{ x: number; y: number; text: string } | null>(null);

  const { topology, source } = useMemo(() => detectTopology(model), [model]);
  const nodes = useMemo(() => graphNodes(model), [model]);
  const links = useMemo(() => graphLinks(model), [model]);

  // One-time scaffolding: layers, zoom and pan, the simulation, resizing.
  useEffect(() => {
    const svg = d3.select(svgRef.current!);
    const root = svg.append('g').attr('class', 'zoom-layer');
    root.append('g').attr('class', 'links');
    root.append('g').attr('class', 'nodes');
    const zoom = d3
      .zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.25, 4])
      .on('zoom', (e: d3.D3ZoomEvent<SVGSVGElement, unknown>) => root.attr('transform', e.transform.toString()));
    zoomRef.current = zoom;
    svg.call(zoom).on('dblclick.zoom', null);
    svg.on('click', (e: MouseEvent) => {
      if (e.target === svgRef.current) onSelect.current(null);
    });
    const s = d3
      .forceSimulation<SimNode, SimLink>()
      .force('charge', d3.forceManyBody<SimNode>().strength(-260))
      .force('collide', d3.forceCollide<SimNode>().radius((d) => d.r + 26))
      .force('link', d3.forceLink<SimNode, SimLink>().id((d) => d.id).strength(0.02))
      .force('x', d3.forceX<SimNode>((d) => d.tx).strength(0.35))
      .force('y', d3.forceY<SimNode>((d) => d.ty).strength(0.35))
      .alphaDecay(0.05);
    s.on('tick', () => draw(root));
    sim.current = s;
    const ro = new ResizeObserver(([entry]) => {
      const r = entry?.contentRect;
      if (r && r.width > 0 && r.height > 0) setSize({ w: Math.round(r.width), h: Math.round(r.height) });
    });
    ro.observe(boxRef.current!);
    return () => {
      ro.disconnect();
      s.stop();
      svg.on('.zoom', null).on('click', null);
      root.remove();
      sim.current = null;
    };
  }, []);

  // Centre the origin: layout targets are around (0, 0).
  useEffect(() => {
    const svg = d3.select(svgRef.current!);
    svg.attr('viewBox', `${-size.w / 2} ${-size.h / 2} ${size.w} ${size.h}`);
  }, [size]);

  // A new trace starts from a clean slate and the default zoom.
  useEffect(() => {
    simNodes.current.clear();
    const svg = d3.select(svgRef.current!);
    // Another trace is another picture: no exit animation from the old one.
    svg.selectAll('g.node, path.link').interrupt().remove();
    if (zoomRef.current) svg.call(zoomRef.current.transform, d3.zoomIdentity);
  }, [model.traceId]);

  // Data join: runs whenever the model (live events) or the size changes.
  useEffect(() => {
    const s = sim.current;
    if (!s) return;
    const targets = layoutTargets(model, topology, size.w - 140, size.h - 90);
    const prev = simNodes.current;
    const next = new Map<string, SimNode>();
    for (const n of nodes) {
      const t = targets.get(n.id) ?? { x: 0, y: 0 };
      const old = prev.get(n.id);
      // Newcomers appear at their place in the shape, so they grow in situ.
      const sn: SimNode = old ?? { id: n.id, data: n, r: 0, tx: t.x, ty: t.y, x: t.x, y: t.y };
      sn.data = n;
      sn.r = nodeRadius(n.metrics.eventCount);
      sn.tx = t.x;
      sn.ty = t.y;
      next.set(n.id, sn);
    }
    simNodes.current = next;
    const simLinks: SimLink[] = links
      .filter((l) => next.has(l.source) && next.has(l.target))
      .map((l) => ({ key: `${l.type}|${l.source}|${l.target}`, data: l, source: l.source, target: l.target }));

    const root = d3.select(svgRef.current!).select<SVGGElement>('g.zoom-layer');
    joinLinks(root, simLinks, (e, l) => setTip({ x: e.offsetX + 12, y: e.offsetY + 12, text: linkText(l.data) }), () => setTip(null));
    joinNodes(root, [...next.values()], (id) => onSelect.current(id), s);

    s.nodes([...next.values()]);
    s.force<d3.ForceLink<SimNode, SimLink>>('link')!.links(simLinks);
    // Move nodes only when the shape changed (agents, links, topology,
    // size): counts and statuses change with every event, and a graph that
    // jiggles on each one is hard to read and to click.
    const shape = `${topology}|${size.w}x${size.h}|${[...next.keys()].join(',')}|${simLinks.map((l) => l.key).join(',')}`;
    const added = [...next.keys()].some((k) => !prev.has(k));
    if (shape !== lastShape.current) s.alpha(added || prev.size === 0 ? 0.9 : 0.3).restart();
    else draw(root);
    lastShape.current = shape;
  }, [model, nodes, links, topology, size]);

  // Selection lives in classes so it never re-runs the layout.
  useEffect(() => {
    d3.select(svgRef.current!)
      .selectAll<SVGGElement, SimNode>('g.node')
      .classed('selected', (d) => d.id === selectedAgent)
      .classed('event-agent', (d) => d.id === eventAgent && d.id !== selectedAgent)
      .classed('dimmed', (d) => selectedAgent !== null && d.id !== selectedAgent && !isNeighbour(links, selectedAgent, d.id));
    d3.select(svgRef.current!)
      .selectAll<SVGPathElement, SimLink>('path.link')
      .classed('active', (d) => selectedAgent !== null && (d.data.source === selectedAgent || d.data.target === selectedAgent))
      .classed('dimmed', (d) => selectedAgent !== null && d.data.source !== selectedAgent && d.data.target !== selectedAgent);
  }, [selectedAgent, eventAgent, model, links]);

  const resetZoom = () => {
    if (zoomRef.current) d3.select(svgRef.current!).transition().duration(MS).call(zoomRef.current.transform, d3.zoomIdentity);
  };

  return (
    <section className="panel agent-graph" data-testid="agent-graph" data-node-count={nodes.length}>
      <header className="panel-head">
        <h2>Agents</h2>
        <span className="muted">{nodes.length} agents · {links.length} links</span>
        {topology && (
          <span
            className="badge topology"
            data-testid="topology"
            data-topology={topology}
            title={source === 'announced' ? 'announced by the swarm (topology.changed)' : 'recognised from the links'}
          >
            {topology}
          </span>
        )}
        <button type="button" className="graph-reset" data-testid="graph-reset" onClick={resetZoom} title="Reset zoom and pan">
          Fit
        </button>
      </header>
      <div className="graph-box" ref={boxRef}>
        <svg ref={svgRef} className="graph-svg" role="img" aria-label="Agent graph">
          <defs>
            {LINK_TYPES.map((t) => (
              <marker
                key={t}
                id={`arrow-${t}`}
                viewBox="0 -4 8 8"
                refX="7"
                refY="0"
                markerUnits="userSpaceOnUse"
                markerWidth="9"
                markerHeight="9"
                orient="auto"
              >
                <path d="M0,-4L8,0L0,4" fill={LINK_COLOR[t]} />
              </marker>
            ))}
          </defs>
        </svg>
        {nodes.length === 0 && <p className="empty graph-empty">{loading ? 'Loading graph…' : 'Select a trace to see its agents.'}</p>}
        {tip && (
          <div className="graph-tip" data-testid="link-tooltip" style={{ left: tip.x, top: tip.y }}>
            {tip.text}
          </div>
        )}
        <ul className="graph-legend">
          {STATUSES.map((s) => (
            <li key={s}>
              <span className="dot" style={{ background: STATUS_COLOR[s] }} />
              {s}
            </li>
          ))}
          {LINK_TYPES.map((t) => (
            <li key={t}>
              <span className={`line line-${t}`} style={{ borderColor: LINK_COLOR[t] }} />
              {t}
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}

function isNeighbour(links: GraphLink[], a: string, b: string): boolean {
  return links.some((l) => (l.source === a && l.target === b) || (l.source === b && l.target === a));
}

export function linkText(l: GraphLink): string {
  const lat = meanLatency(l);
  const count = `${l.messageCount} ${l.type === 'communication' ? 'message' : l.type === 'coordination' ? 'assignment' : 'spawn'}${l.messageCount === 1 ? '' : 's'}`;
  return `${l.source} → ${l.target} · ${l.type} · ${count}${lat === null ? '' : ` · mean latency ${formatDuration(lat)}`}`;
}

type Root = d3.Selection<SVGGElement, unknown, null, undefined>;

function joinLinks(root: Root, links: SimLink[], onHover: (e: MouseEvent, l: SimLink) => void, onLeave: () => void) {
  const paths = root
    .select('g.links')
    .selectAll<SVGPathElement, SimLink>('path.link')
    .data(links, (d) => d.key)
    .join(
      (enter) =>
        enter
          .append('path')
          .attr('class', (d) => `link link-${d.data.type}`)
          .attr('data-testid', 'graph-link')
          .attr('data-type', (d) => d.data.type)
          .attr('data-source', (d) => d.data.source)
          .attr('data-target', (d) => d.data.target)
          .attr('fill', 'none')
          .attr('stroke', (d) => LINK_COLOR[d.data.type])
          .attr('marker-end', (d) => `url(#arrow-${d.data.type})`)
          .attr('stroke-width', 0)
          .attr('opacity', 0),
      (update) => comeBack(update),
      (exit) => leave(exit).transition().duration(MS).attr('opacity', 0).remove(),
    )
    .on('mousemove', (e: MouseEvent, d) => onHover(e, d))
    .on('mouseleave', onLeave)
    .attr('data-count', (d) => d.data.messageCount);
  // One transition for fade-in and width: a second one would interrupt the first.
  retarget(paths, (d) => String(linkWidth(d.data)))
    .transition()
    .duration(MS)
    .attr('opacity', 1)
    .attr('stroke-width', (d) => linkWidth(d.data));
}

/**
 * Exit, once: an element already fading out is left to finish. Exit runs on
 * every update, and a fade restarted that often would never end.
 */
function leave<E extends Element, D, P extends d3.BaseType>(exit: d3.Selection<E, D, P, unknown>) {
  // the target is forgotten so that an element coming back animates in again
  return exit.filter(':not(.leaving)').classed('leaving', true).attr('data-anim', null);
}

/** Back before its exit finished: cancel the removal; the caller animates it in again. */
function comeBack<E extends Element, D, P extends d3.BaseType>(update: d3.Selection<E, D, P, unknown>) {
  update.filter('.leaving').interrupt().classed('leaving', false);
  return update;
}

function joinNodes(root: Root, nodes: SimNode[], onClick: (id: string) => void, s: d3.Simulation<SimNode, SimLink>) {
  // A click is a mousedown too: the layout is reheated only once the
  // pointer actually drags, so selecting an agent does not shake the graph.
  const dragged = new Set<SimNode>();
  const drag = d3
    .drag<SVGGElement, SimNode>()
    .on('start', (_e: d3.D3DragEvent<SVGGElement, SimNode, SimNode>, d) => {
      d.fx = d.x;
      d.fy = d.y;
    })
    .on('drag', (e: d3.D3DragEvent<SVGGElement, SimNode, SimNode>, d) => {
      if (!dragged.has(d)) {
        if (dragged.size === 0) s.alphaTarget(0.2).restart();
        dragged.add(d);
      }
      d.fx = e.x;
      d.fy = e.y;
    })
    .on('end', (_e: d3.D3DragEvent<SVGGElement, SimNode, SimNode>, d) => {
      if (dragged.delete(d) && dragged.size === 0) s.alphaTarget(0);
      d.fx = null;
      d.fy = null;
    });

  const g = root
    .select('g.nodes')
    .selectAll<SVGGElement, SimNode>('g.node')
    .data(nodes, (d) => d.id)
    .join(
      (enter) => {
        const n = enter
          .append('g')
          .attr('class', 'node')
          .attr('data-testid', 'graph-node')
          .attr('data-agent', (d) => d.id)
          .attr('tabindex', 0)
          .attr('role', 'button')
          .attr('transform', (d) => `translate(${d.x ?? 0},${d.y ?? 0})`);
        n.append('circle').attr('class', 'halo').attr('r', 0);
        n.append('circle').attr('class', 'body').attr('r', 0).attr('fill', (d) => STATUS_COLOR[d.data.status]);
        n.append('text').attr('class', 'name').attr('text-anchor', 'middle');
        n.append('text').attr('class', 'type').attr('text-anchor', 'middle');
        n.append('title');
        return n;
      },
      (update) => comeBack(update).attr('opacity', 1),
      (exit) =>
        leave(exit).call((x) => {
          x.selectAll('circle').attr('data-anim', null);
          x.select('circle.body').transition().duration(MS).attr('r', 0);
          x.transition().duration(MS).attr('opacity', 0).remove();
        }),
    );
  g.on('click', (e: MouseEvent, d) => {
    e.stopPropagation();
    onClick(d.id);
  })
    .on('keydown', (e: KeyboardEvent, d) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        onClick(d.id);
      }
    })
    .call(drag)
    .attr('data-status', (d) => d.data.status)
    .classed('stopped', (d) => d.data.stopped);
  g.select('title').text((d) => `${d.id} (${d.data.type ?? 'agent'}) — ${d.data.status}${d.data.stopped ? ', stopped' : ''}`);
  g.select<SVGTextElement>('text.name').attr('dy', (d) => d.r + 15).text((d) => d.data.name);
  g.select<SVGTextElement>('text.type').attr('dy', (d) => d.r + 28).text((d) => d.data.type ?? '');
  retarget(g.select<SVGCircleElement>('circle.halo'), (d) => `${d.r + 5}`)
    .transition()
    .duration(MS)
    .attr('r', (d) => d.r + 5);
  // Status flips fast (busy ↔ active): a short fade reads as a change
  // without leaving nodes in an in-between colour most of the time.
  retarget(g.select<SVGCircleElement>('circle.body'), (d) => `${d.r} ${STATUS_COLOR[d.data.status]}`)
    .transition()
    .duration(FADE_MS)
    .attr('r', (d) => d.r)
    .attr('fill', (d) => STATUS_COLOR[d.data.status]);
}

/**
 * The elements whose animation target changed, now marked with the new one.
 * Live updates arrive faster than a transition lasts; restarting an
 * unchanged transition on each would keep its easing at the slow start, so
 * sizes would creep for as long as events flow and a node would never hold
 * still long enough to be read or clicked.
 */
function retarget<E extends Element, D, P extends d3.BaseType>(sel: d3.Selection<E, D, P, unknown>, target: (d: D) => string) {
  return sel
    .filter(function (d) {
      return this.getAttribute('data-anim') !== target(d);
    })
    .attr('data-anim', target);
}

function draw(root: Root) {
  root
    .selectAll<SVGGElement, SimNode>('g.node')
    .attr('transform', (d) => `translate(${Math.round(d.x ?? 0)},${Math.round(d.y ?? 0)})`);
  root.selectAll<SVGPathElement, SimLink>('path.link').attr('d', (d) => {
    const s = d.source as SimNode;
    const t = d.target as SimNode;
    if (typeof s !== 'object' || typeof t !== 'object') return null;
    return linkPath(d.data.type, { x: s.x ?? 0, y: s.y ?? 0 }, { x: t.x ?? 0, y: t.y ?? 0 }, s.r, t.r);
  });
}
