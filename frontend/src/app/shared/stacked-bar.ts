import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';

/**
 * A bar with two parts: `value` solid, then `extra` lighter after it — bytes
 * stored and bytes received-not-yet-stored of an upload, or used and reserved
 * space of a storage account. Exposed to assistive technology as a progressbar
 * whose `valueText` says what the two parts mean.
 */
@Component({
  selector: 'app-stacked-bar',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div
      class="stacked-bar"
      role="progressbar"
      aria-valuemin="0"
      [attr.aria-valuemax]="max()"
      [attr.aria-valuenow]="value()"
      [attr.aria-valuetext]="valueText()"
      [attr.aria-label]="label()"
    >
      <span
        class="part extra"
        [style.left.%]="valuePercent()"
        [style.width.%]="extraPercent()"
      ></span>
      <span class="part value" [style.width.%]="valuePercent()"></span>
    </div>
  `,
  styles: `
    .stacked-bar {
      position: relative;
      height: 0.8rem;
      border-radius: 4px;
      background: #e3e7ef;
      overflow: hidden;
    }
    .part {
      position: absolute;
      top: 0;
      bottom: 0;
      left: 0;
    }
    .value {
      background: #3b6fd8;
    }
    .extra {
      background: #a9c0ee;
    }
  `,
})
export class StackedBar {
  readonly value = input.required<number>();
  readonly extra = input(0);
  readonly max = input.required<number>();
  readonly label = input.required<string>();
  readonly valueText = input.required<string>();

  protected readonly valuePercent = computed(() => this.percent(this.value()));
  protected readonly extraPercent = computed(() =>
    Math.min(this.percent(this.extra()), 100 - this.valuePercent()),
  );

  private percent(part: number): number {
    const max = this.max();
    if (!(max > 0) || !(part > 0)) return 0;
    return Math.min(100, (part / max) * 100);
  }
}
