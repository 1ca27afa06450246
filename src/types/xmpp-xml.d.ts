// Types for the parts of @xmpp/xml (ltx) this project uses; the package ships none.
declare module '@xmpp/xml' {
  export class Element {
    constructor(name: string, attrs?: Record<string, string | undefined>);
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<Element | string>;
    parent: Element | null;
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getAttr(name: string): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    text(): string;
    append(...children: Array<Element | string>): Element;
    c(name: string, attrs?: Record<string, string | undefined>): Element;
    t(text: string): Element;
    up(): Element;
    root(): Element;
    toString(): string;
  }
  export class Parser {
    constructor();
    write(data: string): void;
    end(data?: string): void;
    on(event: 'start' | 'element' | 'end', listener: (element: Element) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    removeAllListeners(): this;
  }
  export function xml(
    name: string,
    attrs?: Record<string, string | number | undefined> | null,
    ...children: Array<Element | string | null | undefined | false | Array<Element | string>>
  ): Element;
  export default xml;
}
