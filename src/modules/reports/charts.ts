import * as echarts from 'echarts';
import { memoised } from './memo.ts';

/**
 * Charts drawn on the server as SVG by ECharts, so a report needs no JavaScript in the
 * browser. Each chart is an image with its description as alternative text, next to a
 * caption and the data table it was drawn from (the table is the accessible form of the
 * figures; the picture is for the eye). Series are told apart by their labels and patterns,
 * never by colour alone, and use GOV.UK's palette.
 */
export type Chart = { title: string; description: string; src: string; width: number; height: number };

const GOVUK = ['#1d70b8', '#f47738', '#00703c', '#4c2c92', '#d4351c', '#505a5f'];
const TEXT = '#0b0c0c';
const FONT = { fontFamily: 'arial, sans-serif', fontSize: 14, color: TEXT };

function draw(title: string, description: string, option: echarts.EChartsCoreOption, width = 640, height = 320): Chart {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  chart.setOption({
    animation: false,
    color: GOVUK,
    textStyle: FONT,
    // Patterns on the bars as well as colour, for readers who cannot tell the colours apart.
    aria: { enabled: true, label: { description }, decal: { show: true } },
    ...option,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  // An image, not inline SVG: the page's style policy forbids inline styles, which the SVG uses.
  return { title, description, src: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`, width, height };
}

type BarInput = { title: string; description: string; categories: string[]; series: { name: string; values: (number | null)[] }[]; unit?: string };
type LineInput = { title: string; description: string; categories: string[]; values: (number | null)[]; unit?: string; max?: number };

/** A chart is drawn once for the same title, description and figures (memo.ts); each caller gets its own copy. */
const drawBars = memoised(bars, (input: BarInput) => JSON.stringify(input), 100);
const drawLine = memoised(line, (input: LineInput) => JSON.stringify(input), 100);

/** Bars for categories, one series per period (e.g. this quarter beside the previous one). */
export function barChart(input: BarInput): Chart {
  return { ...drawBars(input) };
}

/** A line over time (e.g. % Good or better over eight quarters); null marks a period with no audits. */
export function lineChart(input: LineInput): Chart {
  return { ...drawLine(input) };
}

function bars(input: BarInput): Chart {
  const unit = input.unit ?? '';
  return draw(input.title, input.description, {
    legend: { show: input.series.length > 1, top: 0, textStyle: FONT },
    grid: { left: 48, right: 16, top: input.series.length > 1 ? 40 : 16, bottom: 56 },
    xAxis: { type: 'category', data: input.categories, axisLabel: { ...FONT, interval: 0, width: 120, overflow: 'break' } },
    yAxis: { type: 'value', minInterval: 1, axisLabel: { ...FONT, formatter: `{value}${unit}` } },
    series: input.series.map((series) => ({
      type: 'bar',
      name: series.name,
      data: series.values,
      label: { show: true, position: 'top', ...FONT, formatter: (p: { value: number | null }) => (p.value === null ? '' : `${p.value}${unit}`) },
    })),
  });
}

function line(input: LineInput): Chart {
  const unit = input.unit ?? '';
  return draw(input.title, input.description, {
    grid: { left: 56, right: 24, top: 24, bottom: 56 },
    xAxis: { type: 'category', data: input.categories, axisLabel: { ...FONT, interval: 0 } },
    yAxis: { type: 'value', min: 0, ...(input.max !== undefined ? { max: input.max } : {}), axisLabel: { ...FONT, formatter: `{value}${unit}` } },
    series: [
      {
        type: 'line',
        data: input.values,
        connectNulls: false,
        symbol: 'circle',
        symbolSize: 8,
        lineStyle: { width: 3 },
        label: { show: true, position: 'top', ...FONT, formatter: (p: { value: number | null }) => (p.value === null ? '' : `${p.value}${unit}`) },
      },
    ],
  });
}
